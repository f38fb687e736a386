"""Each readiness check turns not-ready when its dependency stops and ready again when it returns.

A critical dependency takes the whole service out of rotation (503); a non-critical one is
reported as down while the service stays ready, because it degrades without it.
"""

from functools import partial

import pytest

from tests.stack_control import readiness, stopped, wait_for

# component stopped -> (check name, {service: critical?})
DEPENDENTS = {
    "postgres": ("postgres", {"users": True, "orders": True, "payments": True}),
    "pgbouncer": ("postgres", {"users": True, "orders": True, "payments": True}),
    "redis": (
        "redis",
        {
            "users": True,
            "notifications": True,
            "dashboard": True,
            "products": False,
            "orders": False,
            "gateway": False,
        },
    ),
    "kafka": (
        "kafka",
        {
            "notifications": True,
            "orders": False,
            "payments": False,
            "dashboard": False,
            "products": False,
        },
    ),
    "dynamodb": ("dynamodb", {"products": True}),
    "mailpit": ("smtp", {"notifications": False}),
}


def _check_state(service: str, check: str) -> tuple[int, str]:
    status, report = readiness(service)
    return status, report.get("checks", {}).get(check, {}).get("status", "missing")


def _reports(service: str, check: str, expected: tuple[int, str]) -> bool:
    return _check_state(service, check) == expected


@pytest.mark.parametrize("component", DEPENDENTS)
def test_readiness_follows_the_dependency(component: str) -> None:
    check, services = DEPENDENTS[component]
    for service in services:
        assert _check_state(service, check) == (200, "up"), f"{service} before the stop"

    with stopped(component):
        for service, critical in services.items():
            expected = (503 if critical else 200, "down")
            wait_for(
                partial(_reports, service, check, expected),
                timeout=30,
                what=f"{service} to report {check} down with status {expected[0]}",
            )

    for service in services:
        wait_for(
            partial(_reports, service, check, (200, "up")),
            timeout=60,
            what=f"{service} to be ready again after {component} returned",
        )
