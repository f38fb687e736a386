"""The orders domain: the checkout saga, the status workflow, recovery. No FastAPI here.

The saga (architecture.md §6, ADR 0009):
  1. the buyer is active (users), 2. every line priced from the catalog (products),
  3. the order `pending` + items + `order_created` committed together (step `created`),
  4. stock reserved, keyed by the order id (step `reserved`),
  5. the charge (payments, Idempotency-Key `order-<id>-charge`),
  6. `processing` + `order_paid`; or compensation: release the stock, `cancelled`.

Every status change goes through `workflow.Workflow`: whoever comes second (the saga, the
`payments` consumer, a cancel, recovery) sees the status the first left and acts on that, so a
payment that succeeds for an order cancelled meanwhile is refunded, never kept.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common import scopes
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.db import Database
from cloudmart_common.errors import BadRequestError, DomainError, UnprocessableError
from cloudmart_common.money import MAX_AMOUNT, two_places
from cloudmart_common.principal import Principal
from cloudmart_orders import repository
from cloudmart_orders.errors import (
    ConcurrentChange,
    OrderNotFound,
    OutOfStock,
    PaymentDeclined,
    PaymentInProgress,
)
from cloudmart_orders.models import Order, OrderItem
from cloudmart_orders.schemas import OrderIn
from cloudmart_orders.settings import Settings
from cloudmart_orders.upstreams import Upstreams
from cloudmart_orders.workflow import WHOLE_ORDER, Workflow, check_transition

log = logging.getLogger(__name__)

SYSTEM = "system:recovery"

ORDERS_PLACED = Counter("orders_placed_total", "Checkouts by outcome", ["outcome"])
ORDERS_REVENUE = Counter("orders_revenue_total", "Money of orders paid", ["currency"])


@dataclass(frozen=True)
class Checkout:
    """Where a checkout ended: the order, and the refusal to answer with when it failed."""

    order: Order
    refusal: DomainError | None = None


def actor(principal: Principal) -> str:
    if principal.is_service:
        return f"service:{principal.service_name}"
    return f"{principal.role}:{principal.subject}"


def _interrupted() -> UpstreamUnavailable:
    return UpstreamUnavailable("orders", "the checkout was interrupted and undone; try again")


PAID_HERE_KEPT = 4096


class OrderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        database: Database,
        upstreams: Upstreams,
        settings: Settings,
        *,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        # The checkout's statements, each one on its own, on the driver (db.Statement).
        self._database = database
        self._orders = Workflow(sessions, database, after_commit)
        self._up = upstreams
        self._settings = settings
        self.checkouts = asyncio.Semaphore(settings.max_concurrent_checkouts)
        # Orders this process moved to `processing` (keys as on the `payments` topic), the
        # latest few thousand: their payment_succeeded needs no look at the database.
        self._paid_here: OrderedDict[bytes, None] = OrderedDict()

    # -- reads ---------------------------------------------------------------------------

    async def get(self, principal: Principal, order_id: int) -> Order:
        async with self._orders.statements() as session:
            order = await session.get(Order, order_id, options=WHOLE_ORDER)
        if order is None or not principal.may_see(order.user_id, scopes.ORDERS_READ):
            raise OrderNotFound(f"no order {order_id}")
        return order

    async def page(
        self,
        *,
        user_id: int | None,
        status: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Order], str | None]:
        """Newest first; the cursor is the last id seen."""
        query = select(Order)
        if user_id is not None:
            query = query.where(Order.user_id == user_id)
        if status is not None:
            query = query.where(Order.status == status)
        if cursor is not None:
            if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19:
                raise BadRequestError("invalid cursor", field="cursor")
            query = query.where(Order.id < int(cursor))
        async with self._orders.statements() as session:
            orders = list(await session.scalars(query.order_by(Order.id.desc()).limit(limit + 1)))
        if len(orders) > limit:
            return orders[:limit], str(orders[limit - 1].id)
        return orders, None

    # -- checkout ------------------------------------------------------------------------

    async def place(self, buyer_id: int, body: OrderIn, key: str) -> Checkout:
        if len(body.items) > self._settings.max_order_lines:
            limit = self._settings.max_order_lines
            raise UnprocessableError(f"at most {limit} lines per order", field="items")
        earlier, order_id = await repository.earlier_or_next_id(self._database, buyer_id, key)
        if earlier is not None:
            # A live order with this key: an earlier attempt crashed mid-saga (in this
            # process or another replica). Conclude it; undone, it frees the key (nothing was
            # charged, its stock is back), and this attempt places the order anew.
            concluded = await self.recover(earlier)
            if concluded.order.status != "cancelled":
                return concluded
            earlier, order_id = await repository.earlier_or_next_id(self._database, buyer_id, key)
            if earlier is not None:
                raise ConcurrentChange("an order with this Idempotency-Key is being placed")
        # Independent reads: one round trip's wait instead of two, before anything is written.
        # The buyer's problem is reported first, as when the two were asked in turn.
        buyer, priced = await asyncio.gather(
            self._up.require_active_buyer(buyer_id),
            self._up.price([line.product_id for line in body.items]),
            return_exceptions=True,
        )
        for outcome in (buyer, priced):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(priced, dict)
        order = await self._create(order_id, buyer_id, body, key, priced)
        return await self._run_saga(order)

    async def _create(
        self, order_id: int, buyer_id: int, body: OrderIn, key: str, priced: dict[int, Any]
    ) -> Order:
        items = [
            OrderItem(
                product_id=line.product_id,
                product_name=priced[line.product_id].name,
                quantity=line.quantity,
                price=priced[line.product_id].price,
            )
            for line in body.items
        ]
        total = two_places(sum((i.price * i.quantity for i in items), Decimal(0)))
        if total > MAX_AMOUNT:  # the column's NUMERIC(10,2): refused before anything is written
            raise UnprocessableError(f"an order's total is at most {MAX_AMOUNT}", field="items")
        order = Order(
            id=order_id,
            user_id=buyer_id,
            status="pending",
            saga_step="created",
            total_amount=total,
            currency=self._settings.currency,
            shipping_address=body.shipping_address,
            shipping_region=body.shipping_region,
            payment_method=body.payment_method,
            payment_id=None,
            cancel_reason=None,
            idempotency_key=key,
            version=1,
            items=items,
            history=[],
        )
        await self._orders.create(order, f"user:{buyer_id}")
        return order

    async def _run_saga(self, order: Order) -> Checkout:
        lines = [(item.product_id, item.quantity) for item in order.items]
        try:
            await self._up.reserve(order.id, lines)
        except OutOfStock as exc:
            why = f"out of stock: {exc.detail}"
            cancelled = await self._orders.cancel(order.id, why, "system:saga")
            ORDERS_PLACED.labels("out_of_stock").inc()
            return Checkout(cancelled, OutOfStock(exc.detail, order_id=order.id, **exc.extensions))
        except UpstreamUnavailable:
            await self._compensate_unreserved(order.id, "products service unavailable")
            raise
        order = await self._orders.advance(order, "reserved")
        if order.status != "pending":  # cancelled while we reserved: undo and stop here
            await self._up.release(order.id)
            return Checkout(order, ConcurrentChange("the order was cancelled during checkout"))
        try:
            charge = await self._up.charge(
                order_id=order.id,
                user_id=order.user_id,
                amount=order.total_amount,
                currency=order.currency,
                payment_method=order.payment_method,
            )
        except UpstreamUnavailable:
            # Charged or not? Ask; if payments cannot say, recovery settles it later.
            settled = await self._settle_from_payment(order.id, "system:saga")
            if settled is not None and settled.order.status != "pending":
                return settled
            ORDERS_PLACED.labels("unavailable").inc()
            raise
        if charge.status == "succeeded" and charge.payment_id is not None:
            ORDERS_PLACED.labels("paid").inc()
            return Checkout(await self._paid(order, charge.payment_id, "system:saga"))
        if charge.status == "failed":
            detail = charge.decline_detail or "the payment was declined"
            cancelled = await self._release_and_cancel(
                order.id, f"payment declined: {detail}", "system:saga"
            )
            ORDERS_PLACED.labels("declined").inc()
            return Checkout(
                cancelled,
                PaymentDeclined(
                    detail,
                    order_id=order.id,
                    payment_id=charge.payment_id,
                    decline_code=charge.decline_code,
                ),
            )
        ORDERS_PLACED.labels("payment_pending").inc()
        # Stripe still processing: the `payments` consumer settles it. Read afresh: `order`
        # is the one created, whose history rows were never read back.
        return Checkout(await self._orders.load(order.id) or order)

    async def _compensate_unreserved(self, order_id: int, why: str) -> None:
        """Products did not answer the reservation: maybe it happened. Undo, cancel; or leave
        the order to recovery if products cannot be reached for the undo either."""
        try:
            await self._up.release(order_id)
        except UpstreamUnavailable:
            log.warning("order %s left pending for recovery: %s", order_id, why)
            return
        await self._orders.cancel(order_id, f"checkout failed: {why}", "system:saga")
        ORDERS_PLACED.labels("unavailable").inc()

    # -- settling from the payment -------------------------------------------------------

    async def _settle_from_payment(self, order_id: int, who: str) -> Checkout | None:
        """Settle a reserved order from its payment; None while that cannot be known."""
        try:
            payment = await self._up.payment_of(order_id)
        except UpstreamUnavailable:
            return None
        if payment is not None and payment["status"] == "pending":
            return None
        if payment is not None and payment["status"] != "failed":
            order = await self._orders.existing(order_id)
            return Checkout(await self._paid(order, payment["id"], who))
        if payment is None:  # the charge never reached payments: nothing was taken
            cancelled = await self._release_and_cancel(order_id, "checkout interrupted", who)
            return Checkout(cancelled, _interrupted())
        why = f"payment declined: {payment.get('failure_reason') or 'the payment failed'}"
        cancelled = await self._release_and_cancel(order_id, why, who)
        return Checkout(
            cancelled, PaymentDeclined(why, order_id=order_id, payment_id=payment["id"])
        )

    async def on_payment_succeeded(self, order_id: int, payment_id: int) -> None:
        # The saga has nearly always settled the order already (the event arrives after the
        # charge's answer): two columns tell, where loading and locking the order did not.
        state = await repository.payment_state(self._database, order_id)
        if state is None:
            log.info("payment %s is for an order this service does not have", payment_id)
            return
        status, paid_by = state
        if status == "pending" or (status == "cancelled" and paid_by is None):
            order = await self._orders.load(order_id)
            if order is not None:
                await self._paid(order, payment_id, f"payment:{payment_id}")

    async def on_payment_failed(self, order_id: int, payment_id: int, reason: str) -> None:
        order = await self._orders.load(order_id)
        if order is not None and order.status == "pending" and order.saga_step == "reserved":
            await self._release_and_cancel(
                order_id, f"payment declined: {reason}", f"payment:{payment_id}"
            )

    async def _paid(self, order: Order, payment_id: int, who: str) -> Order:
        """pending -> processing; a payment for an order cancelled meanwhile is refunded."""
        if await self._orders.mark_paid(order, payment_id, who):
            self._note_paid(order.id)
            ORDERS_REVENUE.labels(order.currency).inc(float(order.total_amount))
            return order
        current = await self._orders.existing(order.id)
        if current.status == "cancelled" and current.payment_id is None:
            log.warning("order %s was cancelled before its payment settled: refunding", order.id)
            await self._up.refund_all(order.id, payment_id)
        return current

    def paid_here(self, key: bytes) -> bool:
        """Whether this process marked the order (its id as a record key) paid: from then on
        its payment's success changes nothing (a later cancel keeps the payment id)."""
        return key in self._paid_here

    def _note_paid(self, order_id: int) -> None:
        self._paid_here[str(order_id).encode()] = None
        if len(self._paid_here) > PAID_HERE_KEPT:
            # The oldest. (A plain dict's first key is found by skipping every deleted slot.)
            self._paid_here.popitem(last=False)

    # -- cancelling, status changes ------------------------------------------------------

    async def cancel(self, principal: Principal, order_id: int, reason: str | None) -> Order:
        order = await self.get(principal, order_id)
        check_transition(order.status, "cancelled")
        why = reason or "cancelled by the buyer"
        if order.status == "processing" and order.payment_id is not None:
            # Money back first: a failure here leaves the order paid and intact, to retry.
            await self._up.refund_all(order.id, order.payment_id)
            return await self._release_and_cancel(order.id, why, actor(principal), refunded=True)
        payment = await self._up.payment_of(order.id)
        if payment is not None and payment["status"] == "pending":
            raise PaymentInProgress("the payment is still being processed; try again shortly")
        if payment is not None and payment["status"] not in ("failed", "refunded"):
            await self._up.refund_all(order.id, payment["id"])
            return await self._release_and_cancel(order.id, why, actor(principal), refunded=True)
        return await self._release_and_cancel(order.id, why, actor(principal))

    async def change_status(
        self, principal: Principal, order_id: int, status: str, reason: str | None
    ) -> Order:
        if status == "cancelled":
            return await self.cancel(principal, order_id, reason)
        return await self._orders.change(order_id, status, actor(principal), reason)

    async def _release_and_cancel(
        self, order_id: int, reason: str, who: str, *, refunded: bool = False
    ) -> Order:
        await self._up.release(order_id)
        return await self._orders.cancel(order_id, reason, who, refunded=refunded)

    # -- recovery ------------------------------------------------------------------------

    async def recover_stale(self, batch: int = 50) -> int:
        """Finish or compensate orders a crash or an outage left pending; how many were."""
        before = datetime.now(UTC) - timedelta(seconds=self._settings.recovery_after_seconds)
        async with self._sessions() as session:
            stale = list(
                await session.scalars(
                    select(Order.id)
                    .where(Order.status == "pending", Order.updated_at < before)
                    .order_by(Order.updated_at)
                    .limit(batch)
                )
            )
        settled = 0
        for order_id in stale:
            try:
                settled += (await self.recover(order_id)).order.status != "pending"
            except UpstreamUnavailable as exc:
                log.warning("order %s not recovered yet: %s", order_id, exc.detail)
        return settled

    async def recover(self, order_id: int) -> Checkout:
        order = await self._orders.load(order_id)
        assert order is not None
        if order.status != "pending":
            return Checkout(order)
        if order.saga_step == "created":
            # Reserved or not, nothing was charged: give back whatever was held.
            cancelled = await self._release_and_cancel(order_id, "checkout interrupted", SYSTEM)
            return Checkout(cancelled, _interrupted())
        settled = await self._settle_from_payment(order_id, SYSTEM)
        return settled or Checkout(order)
