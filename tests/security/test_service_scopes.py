"""Every service client against every internal route: only the scopes a client was granted
open a route (cloudmart_common.scopes), whatever else its token proves."""

import uuid
from collections.abc import Callable

import httpx
import pytest

from cloudmart_common import scopes
from cloudmart_local.secrets import service_clients
from tests.accounts import service_headers
from tests.stack_control import service_url

CLIENTS = sorted(service_clients())


def _user_status(headers: dict[str, str]) -> int:
    return httpx.get(f"{service_url('users')}/internal/users/1", headers=headers).status_code


def _reserve(headers: dict[str, str]) -> int:
    body = {
        "order_id": f"scope-{uuid.uuid4().hex}",
        "lines": [{"product_id": 10**9, "quantity": 1}],
    }
    return httpx.post(
        f"{service_url('products')}/internal/reservations", json=body, headers=headers
    ).status_code


def _release(headers: dict[str, str]) -> int:
    return httpx.post(
        f"{service_url('products')}/internal/reservations/scope-never/release", headers=headers
    ).status_code


def _charge(headers: dict[str, str]) -> int:
    body = {"order_id": 10**9, "user_id": 1, "amount": 1.0, "currency": "USD", "card": "pm_x"}
    return httpx.post(
        f"{service_url('payments')}/api/payments/process",
        json=body,
        headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
    ).status_code


def _send(headers: dict[str, str]) -> int:
    body = {"template": "manual", "user_id": 1, "subject": "s", "message": "m"}
    return httpx.post(
        f"{service_url('notifications')}/api/notifications/send", json=body, headers=headers
    ).status_code


ROUTES: dict[str, tuple[Callable[[dict[str, str]], int], str]] = {
    "GET users /internal/users/{id}": (_user_status, scopes.USERS_READ),
    "POST products /internal/reservations": (_reserve, scopes.STOCK_RESERVE),
    "POST products /internal/reservations/{id}/release": (_release, scopes.STOCK_RESERVE),
    "POST payments /api/payments/process": (_charge, scopes.PAYMENTS_CHARGE),
    "POST notifications /api/notifications/send": (_send, scopes.NOTIFICATIONS_SEND),
}


@pytest.mark.parametrize("client", CLIENTS)
def test_each_client_opens_exactly_the_routes_of_its_scopes(client: str) -> None:
    headers = service_headers(client)
    granted = scopes.granted(client)
    answers = {route: call(headers) for route, (call, _scope) in ROUTES.items()}
    expected_open = {route for route, (_call, scope) in ROUTES.items() if scope in granted}
    refused = {route for route, status in answers.items() if status == 403}
    # A granted route answers about the request itself (404, 409, 422...), never 403.
    assert refused == set(ROUTES) - expected_open, answers
    assert all(status != 401 for status in answers.values()), answers


def test_the_grants_are_what_the_callers_need() -> None:
    assert scopes.granted("orders") == {
        scopes.USERS_READ,
        scopes.STOCK_RESERVE,
        scopes.PAYMENTS_CHARGE,
        scopes.PAYMENTS_READ,
    }
    assert scopes.granted("notifications") == {scopes.USERS_READ}
    assert all(scopes.granted(c) == frozenset() for c in CLIENTS if c not in scopes.GRANTS)
