"""Who tests act as: the stack's admin, fresh customers, and services (client credentials)."""

import httpx

from cloudmart_local.secrets import service_clients
from cloudmart_local.shop import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Account,
    log_in,
    register,
)
from cloudmart_local.shop import CUSTOMER_PASSWORD as PASSWORD
from tests.stack_control import service_url

__all__ = ["ADMIN_PASSWORD", "ADMIN_USERNAME", "PASSWORD", "Account", "admin", "new_customer"]


def _users() -> httpx.Client:
    return httpx.Client(base_url=service_url("users"), timeout=30)


def admin() -> Account:
    with _users() as http:
        return log_in(http, ADMIN_USERNAME, ADMIN_PASSWORD)


def new_customer(prefix: str = "shopper") -> Account:
    with _users() as http:
        return register(http, prefix)


def service_headers(name: str) -> dict[str, str]:
    """A service token of `name` (orders, notifications, ...), as that service would hold."""
    response = httpx.post(
        f"{service_url('users')}/api/users/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(name, service_clients()[name]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
