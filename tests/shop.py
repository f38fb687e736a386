"""Shopping as tests do it: products made for the test, order bodies, placing orders."""

__all__ = ["new_product", "order_body", "place"]

import uuid
from typing import Any

import httpx

from cloudmart_local.shop import order_body
from tests.accounts import Account
from tests.stack_control import service_url


def new_product(
    staff: Account, *, stock: int = 20, price: float = 12.5, category: str = "test-orders"
) -> dict[str, Any]:
    response = httpx.post(
        f"{service_url('products')}/api/products",
        json={
            "name": f"Test item {uuid.uuid4().hex[:6]}",
            "price": price,
            "category": category,
            "stock_quantity": stock,
            "sku": f"ORD-{uuid.uuid4().hex[:10].upper()}",
        },
        headers=staff.headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def place(
    http: httpx.Client, buyer: Account, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    """POST /api/orders on `http` (the orders service, or the gateway)."""
    return http.post(
        "/api/orders",
        json=body,
        headers=buyer.headers | {"Idempotency-Key": key or uuid.uuid4().hex},
    )
