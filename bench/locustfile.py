"""Load scenarios through the gateway: browsing, checkout, and the two mixed as a shop sees them.

    .venv/bin/locust -f bench/locustfile.py --headless -u 100 -r 20 -t 60s \\
        --host http://127.0.0.1:5000 --csv bench/results/load [BrowsingUser|CheckoutUser|...]

Without a class name every class runs with its weight (MixedTraffic: 8 browsing : 1 checkout).
Loopback only; the admin creates the products the checkouts buy once, at the start.
"""

import random
import uuid
from typing import Any

import httpx
from locust import HttpUser, between, events, task
from locust.env import Environment

from cloudmart_local.layout import LOCALSTRIPE_PORT

ADMIN = {"username": "admin", "password": "admin-local-only"}  # the local stack's (DESIGN §4)
PASSWORD = "Bench-Horse-42"  # noqa: S105 (the benchmark's throwaway customers)
GOOD_CARD = "4242424242424242"
STRIPE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
CATEGORY = "bench"
STOCK = 1_000_000  # checkouts never run out: the benchmark measures the path, not 409s

products: list[int] = []


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _stock_the_shop(environment: Environment, **_: Any) -> None:
    """A few products with plenty of stock, created once through the gateway as the admin."""
    host = environment.host or "http://127.0.0.1:5000"
    with httpx.Client(base_url=host, timeout=30) as http:
        token = http.post("/api/users/login", json=ADMIN).json()["access_token"]
        for index in range(5):
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
            products.append(created.json()["id"])


def _payment_method() -> str:
    """A card as the browser sends it: straight to (local) Stripe with the publishable key."""
    response = httpx.post(
        f"{STRIPE}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": GOOD_CARD,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
            "key": "pk_test_local",
        },
        timeout=30,
    )
    response.raise_for_status()
    method: str = response.json()["id"]
    return method


class BrowsingUser(HttpUser):
    """Lists, filters, pages and opens products: the catalog's read path (cached by product)."""

    wait_time = between(0.5, 2)
    weight = 8

    @task(4)
    def list_products(self) -> None:
        self.client.get("/api/products?limit=20", name="/api/products")

    @task(2)
    def filter_by_category(self) -> None:
        category = random.choice(["electronics", "books", "home", "toys", "garden", CATEGORY])
        self.client.get(
            f"/api/products?limit=20&category={category}", name="/api/products?category"
        )

    @task(4)
    def open_product(self) -> None:
        product = random.choice(products) if products else 1
        self.client.get(f"/api/products/{product}", name="/api/products/{id}")

    @task(1)
    def categories(self) -> None:
        self.client.get("/api/products/categories")


class CheckoutUser(HttpUser):
    """Registers and logs in once, then buys: the checkout saga end to end."""

    wait_time = between(1, 3)
    weight = 1

    def on_start(self) -> None:
        username = f"bench{uuid.uuid4().hex[:10]}"
        self.client.post(
            "/api/users/register",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
            name="/api/users/register",
        )
        login = self.client.post(
            "/api/users/login",
            json={"username": username, "password": PASSWORD},
            name="/api/users/login",
        )
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    @task
    def checkout(self) -> None:
        lines = random.sample(products, k=min(2, len(products)))
        self.client.post(
            "/api/orders",
            json={
                "items": [{"product_id": product, "quantity": 1} for product in lines],
                "shipping_address": "1 Bench Street, Loadtown",
                "shipping_region": random.choice(["us-east", "us-west", "eu-west"]),
                "payment_method": _payment_method(),
            },
            headers=self.headers | {"Idempotency-Key": uuid.uuid4().hex},
            name="/api/orders",
        )
