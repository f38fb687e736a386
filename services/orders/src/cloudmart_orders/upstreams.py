"""The services the saga calls, each through one ServiceClient (retries, breaker, token).

Each method turns the upstream's answers into what the saga needs: a value, a domain error
for a refusal, or UpstreamUnavailable (503) for an outage.
"""

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.http_client import ServiceClient
from cloudmart_orders.errors import BuyerInactive, OutOfStock, UnknownProduct


@dataclass(frozen=True)
class PricedProduct:
    id: int
    name: str
    price: Decimal


@dataclass(frozen=True)
class ChargeResult:
    status: str  # succeeded | pending | failed
    payment_id: int | None
    decline_detail: str | None = None
    decline_code: str | None = None


def _unexpected(upstream: str, status: int) -> UpstreamUnavailable:
    # An answer the contract does not have: treat the upstream as not serving us.
    return UpstreamUnavailable(upstream, f"{upstream} answered {status} unexpectedly")


class Upstreams:
    def __init__(
        self, users: ServiceClient, products: ServiceClient, payments: ServiceClient
    ) -> None:
        self.users, self.products, self.payments = users, products, payments

    async def aclose(self) -> None:
        for client in (self.users, self.products, self.payments):
            await client.aclose()

    async def require_active_buyer(self, user_id: int) -> None:
        response = await self.users.get(f"/internal/users/{user_id}")
        if response.status_code == 404:
            raise BuyerInactive("this account no longer exists")
        if response.status_code != 200:
            raise _unexpected("users", response.status_code)
        if not response.json()["is_active"]:
            raise BuyerInactive("this account is not active")

    async def price(self, product_ids: list[int]) -> dict[int, PricedProduct]:
        """Today's name and price of each product, read concurrently."""
        responses = await asyncio.gather(
            *(self.products.get(f"/api/products/{product_id}/price") for product_id in product_ids)
        )
        missing = [
            pid for pid, r in zip(product_ids, responses, strict=True) if r.status_code == 404
        ]
        if missing:
            raise UnknownProduct(
                f"no such product: {', '.join(map(str, missing))}", product_ids=missing
            )
        priced: dict[int, PricedProduct] = {}
        for response in responses:
            if response.status_code != 200:
                raise _unexpected("products", response.status_code)
            product = response.json()
            priced[product["id"]] = PricedProduct(
                product["id"], product["name"], Decimal(str(product["price"]))
            )
        return priced

    async def reserve(self, order_id: int, lines: list[tuple[int, int]]) -> None:
        response = await self.products.post(
            "/internal/reservations",
            json={
                "order_id": str(order_id),
                "lines": [{"product_id": p, "quantity": q} for p, q in lines],
            },
            idempotency_key=f"order-{order_id}-reserve",
        )
        if response.status_code == 409:
            problem = response.json()
            raise OutOfStock(problem.get("detail", "not enough stock"), **_short(problem))
        if response.status_code not in (200, 201):
            raise _unexpected("products", response.status_code)
        if response.json()["status"] != "reserved":  # released before: a cancelled order's id
            raise _unexpected("products", response.status_code)

    async def release(self, order_id: int) -> None:
        """Give the order's stock back; nothing reserved (404) is fine."""
        response = await self.products.post(f"/internal/reservations/{order_id}/release")
        if response.status_code not in (200, 404):
            raise _unexpected("products", response.status_code)

    async def charge(
        self, *, order_id: int, user_id: int, amount: Decimal, currency: str, payment_method: str
    ) -> ChargeResult:
        response = await self.payments.post(
            "/api/payments/process",
            json={
                "order_id": order_id,
                "user_id": user_id,
                "amount": float(amount),
                "currency": currency,
                "payment_method": payment_method,
            },
            # One key per order: a retried or recovered charge is the same charge.
            idempotency_key=f"order-{order_id}-charge",
        )
        body = response.json()
        if response.status_code in (200, 201, 202):
            return ChargeResult(body["status"], body["id"])
        if response.status_code == 402:
            return ChargeResult(
                "failed", body.get("payment_id"), body.get("detail"), body.get("decline_code")
            )
        raise _unexpected("payments", response.status_code)

    async def payment_of(self, order_id: int) -> dict[str, Any] | None:
        response = await self.payments.get(f"/api/payments/order/{order_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unexpected("payments", response.status_code)
        payment: dict[str, Any] = response.json()
        return payment

    async def refund_all(self, order_id: int, payment_id: int) -> None:
        """Refund what is left of the order's payment; once, whoever asks (one key, one body)."""
        response = await self.payments.post(
            "/api/payments/refund",
            json={"payment_id": payment_id, "reason": f"order {order_id} cancelled"},
            idempotency_key=f"order-{order_id}-refund",
        )
        # 409: nothing left to refund (already refunded in full): the goal is reached.
        if response.status_code not in (200, 201, 409):
            raise _unexpected("payments", response.status_code)


def _short(problem: dict[str, Any]) -> dict[str, Any]:
    return {name: problem[name] for name in ("product_ids", "short") if name in problem}
