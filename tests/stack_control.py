"""What platform tests use to look at and steer the running local stack."""

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import stripe

from cloudmart_local import supervisor
from cloudmart_local.components import by_name
from cloudmart_local.layout import LOCALSTRIPE_PORT, SERVICE_PORTS

T = TypeVar("T")


def service_url(name: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[name]}"


def wait_for(
    condition: Callable[[], T | None], *, timeout: float, interval: float = 0.25, what: str
) -> T:
    """Poll until `condition` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def readiness(service: str) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{service_url(service)}/ready", timeout=5)
    except httpx.HTTPError as exc:
        return 0, {"error": str(exc)}
    return response.status_code, response.json()


def wait_healthy(component: str, timeout: float = 60) -> None:
    probe = by_name(component).probe

    def healthy() -> bool:
        try:
            asyncio.run(asyncio.wait_for(probe(), 5))
        except Exception:
            return False
        return True

    wait_for(healthy, timeout=timeout, what=f"{component} to be healthy")


@contextmanager
def stopped(component: str) -> Iterator[None]:
    """Stop one component for the body of the `with`, then start it and wait until healthy."""
    supervisor.stop(component)
    try:
        yield
    finally:
        supervisor.start(component)
        wait_healthy(component)


def stripe_client() -> stripe.StripeClient:
    """The official SDK pointed at localstripe, as the payments service uses it."""
    return stripe.StripeClient(
        "sk_test_local",
        base_addresses={"api": f"http://127.0.0.1:{LOCALSTRIPE_PORT}"},
        max_network_retries=0,
    )
