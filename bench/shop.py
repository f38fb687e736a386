"""The benchmarks' shop: products with plenty of stock, on top of the stack's one shop client
(cloudmart_local.shop: the admin, customers, cards, order bodies). Loopback only."""

import uuid

import httpx

from cloudmart_local.layout import SERVICE_PORTS
from cloudmart_local.shop import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    CUSTOMER_PASSWORD,
    GATEWAY,
    Account,
    log_in,
    order_body,
    payment_method_async,
    register,
)

__all__ = [
    "CUSTOMER_PASSWORD",
    "GATEWAY",
    "PRODUCTS",
    "Account",
    "new_customer",
    "order_body",
    "payment_method_async",
    "stock_products",
]

PRODUCTS = f"http://127.0.0.1:{SERVICE_PORTS['products']}"  # the service itself, no gateway
CATEGORY = "bench"
STOCK = 1_000_000  # checkouts never run out: the benchmark measures the path, not 409s


def stock_products(host: str = GATEWAY, count: int = 5) -> list[int]:
    """A few products with plenty of stock, created through the gateway as the admin."""
    created_ids: list[int] = []
    with httpx.Client(base_url=host, timeout=30) as http:
        staff = log_in(http, ADMIN_USERNAME, ADMIN_PASSWORD)
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
                headers=staff.headers,
            )
            created.raise_for_status()
            created_ids.append(created.json()["id"])
    return created_ids


def new_customer(http: httpx.Client) -> Account:
    """A registered, logged-in customer of the benchmark."""
    return register(http, "bench")
