"""Who tests act as: the stack's admin, fresh customers, and services (client credentials)."""

import uuid
from dataclasses import dataclass

import httpx

from cloudmart_local.secrets import service_clients
from tests.stack_control import service_url

PASSWORD = "Correct-Horse-42"
ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin-local-only"  # seeded by `make up`


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str
    headers: dict[str, str]  # Authorization: Bearer <access token>


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(username: str, password: str) -> Account:
    response = httpx.post(
        f"{service_url('users')}/api/users/login",
        json={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(body["user"]["id"], username, _bearer(body["access_token"]))


def admin() -> Account:
    return _login(ADMIN_USERNAME, ADMIN_PASSWORD)


def new_customer(prefix: str = "shopper") -> Account:
    username = f"{prefix}{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{service_url('users')}/api/users/register",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return _login(username, PASSWORD)


def service_headers(name: str) -> dict[str, str]:
    """A service token of `name` (orders, notifications, ...), as that service would hold."""
    response = httpx.post(
        f"{service_url('users')}/api/users/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(name, service_clients()[name]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return _bearer(response.json()["access_token"])
