"""The benchmarks' shop client: the admin stocks products, customers register and pay by card.

Shared by the Locust scenarios and the event-latency measurement. Loopback only.
"""

import uuid
from typing import Any

import httpx

from cloudmart_local.layout import LOCALSTRIPE_PORT

GATEWAY = "http://127.0.0.1:5000"
PRODUCTS = "http://127.0.0.1:5002"
ADMIN = {"username": "admin", "password": "admin-local-only"}  # the local stack's (DESIGN §4)
PASSWORD = "Bench-Horse-42"  # noqa: S105 (the benchmark's throwaway customers)
GOOD_CARD = "4242424242424242"
STRIPE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
CATEGORY = "bench"
STOCK = 1_000_000  # checkouts never run out: the benchmark measures the path, not 409s


def stock_products(host: str = GATEWAY, count: int = 5) -> list[int]:
    """A few products with plenty of stock, created through the gateway as the admin."""
    created_ids: list[int] = []
    with httpx.Client(base_url=host, timeout=30) as http:
        token = http.post("/api/users/login", json=ADMIN).json()["access_token"]
        for index in range(count):
            created = http.post(
                "/api/products",
                json={
                    "name": f"Bench item {index} {uuid.uuid4().hex[:6]}",
                    "price": 9.99 + index,
                    "category": CATEGORY,
                    "stock_quantity": STOCK,
                    "sku": f"BENCH-{uuid.uuid4().hex[:10].upper()}",
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            created.raise_for_status()
            created_ids.append(created.json()["id"])
    return created_ids


# A card as the browser sends it: straight to (local) Stripe with the publishable key.
_CARD_FORM = {
    "type": "card",
    "card[number]": GOOD_CARD,
    "card[exp_month]": "12",
    "card[exp_year]": "2034",
    "card[cvc]": "123",
    "key": "pk_test_local",
}


# One client for every card: `httpx.post` builds a client, and with it an SSL context (~20 ms
# of CPU), per call. That was 70 % of the Locust process's CPU, taken from the stack it loads.
_stripe = httpx.Client(base_url=STRIPE, timeout=30)


def payment_method() -> str:
    """A fresh localstripe PaymentMethod id (pm_...) for one order."""
    response = _stripe.post("/v1/payment_methods", data=_CARD_FORM)
    response.raise_for_status()
    method: str = response.json()["id"]
    return method


async def payment_method_async(http: httpx.AsyncClient) -> str:
    """`payment_method` for an async load generator (the same card, on its own client)."""
    response = await http.post(f"{STRIPE}/v1/payment_methods", data=_CARD_FORM)
    response.raise_for_status()
    method: str = response.json()["id"]
    return method


def new_customer(http: httpx.Client) -> tuple[str, dict[str, str]]:
    """A registered, logged-in customer: their email address and auth header."""
    username = f"bench{uuid.uuid4().hex[:10]}"
    email = f"{username}@example.com"
    http.post(
        "/api/users/register",
        json={"username": username, "email": email, "password": PASSWORD},
    ).raise_for_status()
    login = http.post("/api/users/login", json={"username": username, "password": PASSWORD})
    login.raise_for_status()
    return email, {"Authorization": f"Bearer {login.json()['access_token']}"}


def order_body(product_ids: list[int], method: str | None = None) -> dict[str, Any]:
    """An order of one of each product, paid with `method` (a fresh card if not given)."""
    return {
        "items": [{"product_id": product, "quantity": 1} for product in product_ids],
        "shipping_address": "1 Bench Street, Loadtown",
        "shipping_region": "us-east",
        "payment_method": method or payment_method(),
    }
