"""Shopping on the local stack as its clients do, the one client of the platform tests and the
benchmarks: the seeded admin, throwaway customers, cards created at (local) Stripe the way a
browser creates them, and order bodies. Loopback only.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from cloudmart_local.layout import LOCALSTRIPE_PORT, SERVICE_PORTS

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
STRIPE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
# Seeded by `make up` (architecture.md §4); CLOUDMART_ADMIN_* change it for a deployment.
ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin-local-only"
CUSTOMER_PASSWORD = "Correct-Horse-42"  # noqa: S105 - throwaway customers of tests and benches
# Local Stripe test cards (architecture.md §8).
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then every charge is declined (card_declined)

# One client for every card: `httpx.post` builds a client, and with it an SSL context (~20 ms
# of CPU), per call: 70 % of a load generator's CPU, taken from the stack it loads.
_stripe = httpx.Client(base_url=STRIPE, timeout=30)


def _card_form(number: str) -> dict[str, str]:
    """A card as the browser sends it: straight to Stripe with the publishable key."""
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
        "key": "pk_test_local",
    }


def payment_method(number: str = GOOD_CARD) -> str:
    """A fresh PaymentMethod id (pm_...) at localstripe, as Stripe.js hands the client one."""
    response = _stripe.post("/v1/payment_methods", data=_card_form(number))
    response.raise_for_status()
    method: str = response.json()["id"]
    return method


async def payment_method_async(http: httpx.AsyncClient, number: str = GOOD_CARD) -> str:
    """`payment_method` for an async load generator, on its own client."""
    response = await http.post(f"{STRIPE}/v1/payment_methods", data=_card_form(number))
    response.raise_for_status()
    method: str = response.json()["id"]
    return method


def order_body(
    lines: list[tuple[int, int]], number: str = GOOD_CARD, *, method: str | None = None
) -> dict[str, Any]:
    """An order of (product id, quantity) lines, paid with `method`, else a fresh card."""
    return {
        "items": [{"product_id": product, "quantity": quantity} for product, quantity in lines],
        "shipping_address": "12 Test Street, Springfield",
        "shipping_region": "us-east",
        "payment_method": method or payment_method(number),
    }


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str
    headers: dict[str, str]  # Authorization: Bearer <access token>

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


def log_in(http: httpx.Client, username: str, password: str) -> Account:
    """The account, logged in through `http` (the users service or the gateway)."""
    login = http.post("/api/users/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    body = login.json()
    return Account(
        body["user"]["id"], username, {"Authorization": f"Bearer {body['access_token']}"}
    )


def register(http: httpx.Client, prefix: str) -> Account:
    """A new customer, registered and logged in through `http`."""
    username = f"{prefix}{uuid.uuid4().hex[:8]}"
    registered = http.post(
        "/api/users/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": CUSTOMER_PASSWORD,
        },
    )
    assert registered.status_code == 201, registered.text
    return log_in(http, username, CUSTOMER_PASSWORD)
