"""Load scenarios through the gateway: browsing, checkout, and the two mixed as a shop sees them.

    .venv/bin/locust -f bench/locustfile.py --headless -u 100 -r 20 -t 60s \\
        --host http://127.0.0.1:5000 --csv bench/results/load [BrowsingUser|CheckoutUser|...]

Without a class name every class runs with its weight (MixedTraffic: 8 browsing : 1 checkout).
Loopback only; the admin creates the products the checkouts buy once, at the start.
Run from the repository root with PYTHONPATH=. (it imports bench.shop); `make bench` does.
"""

import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]  # no stubs; Locust runs on it
from locust import FastHttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

from bench.shop import CATEGORY, CUSTOMER_PASSWORD, order_body, stock_products

products: list[int] = []
# The checkout scenario's steady state begins once every buyer has registered, logged in and
# then completed a checkout it sent after the last arrival (bench/scenarios.py sets both
# variables). Spawning ends earlier, while argon2 still hashes the last arrivals, and orders
# queued behind that hashing are the arrival's cost, not the steady state's. The statistics
# restart then, and the file tells the bench to take its CPU baseline.
ARRIVALS = int(os.environ.get("CLOUDMART_BENCH_ARRIVALS", "0"))
ARRIVED_FILE = os.environ.get("CLOUDMART_BENCH_ARRIVED_FILE")
# The steady state's length: the run ends this long after it begins (bench/figures.py).
STEADY_SECONDS = float(os.environ.get("CLOUDMART_BENCH_STEADY_SECONDS", "0"))
_arrived = 0
_all_arrived_at: float | None = None
_settled: set[int] = set()


def _one_arrived() -> None:
    global _arrived, _all_arrived_at
    _arrived += 1
    if ARRIVALS and _arrived == ARRIVALS:
        _all_arrived_at = time.monotonic()


def _one_checked_out(user: "CheckoutUser", sent_at: float, environment: Environment) -> None:
    if _all_arrived_at is None or sent_at < _all_arrived_at or len(_settled) == ARRIVALS:
        return
    _settled.add(id(user))
    if len(_settled) == ARRIVALS and environment.runner is not None:
        environment.runner.stats.reset_all()
        if ARRIVED_FILE:
            Path(ARRIVED_FILE).touch()
        if STEADY_SECONDS:
            gevent.spawn_later(STEADY_SECONDS, environment.runner.quit)


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's hooks are untyped
def _stock_the_shop(environment: Environment, **_: Any) -> None:
    products.extend(stock_products(environment.host or "http://127.0.0.1:5000"))


class BrowsingUser(FastHttpUser):
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


class CheckoutUser(FastHttpUser):
    """Registers and logs in once, then buys: the checkout saga end to end."""

    wait_time = between(1, 3)
    weight = 1

    def on_start(self) -> None:
        username = f"bench{uuid.uuid4().hex[:10]}"
        registered = self.client.post(
            "/api/users/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": CUSTOMER_PASSWORD,
            },
            name="/api/users/register",
        )
        login = self.client.post(
            "/api/users/login",
            json={"username": username, "password": CUSTOMER_PASSWORD},
            name="/api/users/login",
        )
        _one_arrived()
        if registered.status_code != 201 or login.status_code != 200:
            # Counted as failures above; a buyer without a token would only add fast 401s.
            raise StopUser
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

    @task
    def checkout(self) -> None:
        lines = random.sample(products, k=min(2, len(products)))
        body = order_body([(line, 1) for line in lines]) | {
            "shipping_region": random.choice(["us-east", "eu-west"])
        }
        sent_at = time.monotonic()
        self.client.post(
            "/api/orders",
            json=body,
            headers=self.headers | {"Idempotency-Key": uuid.uuid4().hex},
            name="/api/orders",
        )
        _one_checked_out(self, sent_at, self.environment)
