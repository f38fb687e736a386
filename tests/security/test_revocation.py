"""An ended session's access tokens are refused at once (within a second), by the gateway and by
every service checking tokens itself: after logout, a password change, the account's deletion
and the reuse of a refresh token (ADR 0006)."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.accounts import PASSWORD
from tests.stack_control import service_url

GATEWAY, USERS, PAYMENTS = service_url("gateway"), service_url("users"), service_url("payments")
REVOKED_WITHIN_SECONDS = 1.5  # the verifiers' one-second answer, and a request's time


def _session() -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh customer and the tokens of one login."""
    username = f"revoke{uuid.uuid4().hex[:8]}"
    registered = httpx.post(
        f"{USERS}/api/users/register",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    login = httpx.post(
        f"{USERS}/api/users/login", json={"username": username, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return registered.json(), login.json()


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _statuses(tokens: dict[str, Any]) -> tuple[int, int]:
    """The token presented to the gateway (which checks it, then users does) and to a service
    checking it on its own (payments: the buyer's saved cards)."""
    through_gateway = httpx.get(f"{GATEWAY}/api/users/me", headers=_bearer(tokens), timeout=10)
    to_payments = httpx.get(f"{PAYMENTS}/api/payments/methods", headers=_bearer(tokens), timeout=10)
    return through_gateway.status_code, to_payments.status_code


def _logout(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    answer = httpx.post(
        f"{USERS}/api/users/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert answer.status_code == 204


def _change_password(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    answer = httpx.put(
        f"{USERS}/api/users/{user['id']}/password",
        json={"current_password": PASSWORD, "new_password": "Another-Horse-43"},
        headers=_bearer(tokens),
    )
    assert answer.status_code == 204, answer.text


def _delete(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    answer = httpx.delete(f"{USERS}/api/users/{user['id']}", headers=_bearer(tokens))
    assert answer.status_code == 204, answer.text


def _reuse_refresh(user: dict[str, Any], tokens: dict[str, Any]) -> None:
    body = {"refresh_token": tokens["refresh_token"]}
    assert httpx.post(f"{USERS}/api/users/token/refresh", json=body).status_code == 200
    assert httpx.post(f"{USERS}/api/users/token/refresh", json=body).status_code == 401


@pytest.mark.parametrize(
    "end", [_logout, _change_password, _delete, _reuse_refresh], ids=lambda f: f.__name__[1:]
)
def test_an_ended_sessions_access_token_is_refused_within_a_second(
    end: Callable[[dict[str, Any], dict[str, Any]], None],
) -> None:
    user, tokens = _session()
    assert _statuses(tokens) == (200, 200)  # both now remember the session as live
    other_user, other_tokens = _session()
    end(user, tokens)
    ended = time.monotonic()
    while _statuses(tokens) != (401, 401):
        assert time.monotonic() - ended < REVOKED_WITHIN_SECONDS, _statuses(tokens)
        time.sleep(0.1)
    refused = httpx.get(f"{GATEWAY}/api/users/me", headers=_bearer(tokens))
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "session ended" in refused.json()["detail"]
    assert _statuses(other_tokens) == (200, 200)  # another session is untouched
    assert other_user["id"] != user["id"]
