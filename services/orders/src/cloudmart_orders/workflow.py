"""The status workflow of architecture.md §5: pending -> processing -> shipped -> delivered, and
cancelled from pending or processing. Nothing else moves an order.

`Workflow` writes each change: it takes the order's row lock (or one statement conditioned on
the status), checks the move here and writes the history row and the event in the same
transaction. Whoever comes second (the saga, the `payments` consumer, a cancel, recovery) sees
the status the first left and acts on that.
"""

from collections.abc import Callable

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from cloudmart_common.db import Database, single_statement_sessions
from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_orders import events, repository
from cloudmart_orders.errors import ConcurrentChange, IllegalTransition, OrderNotFound
from cloudmart_orders.models import Order, StatusChange

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "cancelled"}),
    "processing": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}
# Only a successful payment takes an order out of pending into processing.
PAYMENT_ONLY = frozenset({("pending", "processing")})


def check_transition(current: str, target: str, *, by_payment: bool = False) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "none"
        raise IllegalTransition(
            f"an order {current} cannot become {target} (allowed: {allowed})",
            status=current,
            requested=target,
        )
    if (current, target) in PAYMENT_ONLY and not by_payment:
        raise IllegalTransition(
            "only a successful payment moves an order from pending to processing",
            status=current,
            requested=target,
        )


ORDER_TRANSITIONS = Counter("order_transitions_total", "Status changes", ["to_status"])

# One order with its items and history in one statement (joined), where the relationships'
# default (selectin, right for pages of orders) took three round trips per order read.
WHOLE_ORDER = (joinedload(Order.items), joinedload(Order.history))


def _change(
    order: Order, previous: str | None, status: str, who: str, reason: str | None
) -> StatusChange:
    """The order's history row for a change of status, appended to its history."""
    change = StatusChange(
        order_id=order.id, from_status=previous, to_status=status, changed_by=who, reason=reason
    )
    order.history.append(change)
    return change


class Workflow:
    """Writes every status change: under the order's row lock (or as one conditioned
    statement), checked against the workflow, with its history row and its event committed
    together. Whoever comes second sees the status the first left."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        database: Database,
        after_commit: Callable[[], None] | None,
    ) -> None:
        self._sessions = sessions
        # One-statement writes, each on its own, on the driver (db.Statement).
        self._database = database
        # Reads: no BEGIN/COMMIT round trips around them.
        self.statements = single_statement_sessions(sessions)
        self._after_commit = after_commit

    async def load(self, order_id: int) -> Order | None:
        async with self.statements() as session:
            return await session.get(Order, order_id, options=WHOLE_ORDER)

    async def existing(self, order_id: int) -> Order:
        order = await self.load(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order

    async def create(self, order: Order, who: str) -> None:
        """Insert the new `pending` order with its items, history row and `order_created`."""
        event = events.status_changed(order, "pending")
        try:
            created_at, written = await repository.insert_order(self._database, order, who, event)
        except IntegrityError as exc:  # the same key placed concurrently
            raise ConcurrentChange("an order with this Idempotency-Key is being placed") from exc
        order.created_at = created_at
        self._written(order, written, None, "pending", who)

    async def advance(self, order: Order, step: str) -> Order:
        """Record the saga's step on a pending order; the order as it stands if not pending.

        One UPDATE, where locking and reading the order back took three statements.
        """
        row = await repository.advance(self._database, order.id, step)
        if row is None:  # cancelled meanwhile: as it is now
            return await self.existing(order.id)
        order.saga_step = step
        order.version, order.updated_at = row
        return order

    async def mark_paid(self, order: Order, payment_id: int, who: str) -> bool:
        """pending -> processing in one statement, conditioned on `pending` (the workflow's only
        way into `processing`), where a locked read and its writes took five round trips.
        `order` (as created or read) gives the event its fields, which no status change alters.
        False when the order was no longer pending."""
        fields = events.order_fields(order) | {"status": "processing", "payment_id": payment_id}
        event = events.status_changed(order, "processing", fields)
        written = await repository.mark_paid(self._database, order.id, payment_id, who, event)
        if written is None:
            return False
        order.status, order.payment_id, order.saga_step = "processing", payment_id, "done"
        self._written(order, written, "pending", "processing", who)
        return True

    async def change(self, order_id: int, status: str, who: str, reason: str | None) -> Order:
        async with UnitOfWork(self._sessions, after_commit=self._after_commit) as uow:
            order = await self._locked(uow.session, order_id)
            self._transition(uow, order, status, who, reason)
            await uow.commit()
        return order

    async def cancel(
        self, order_id: int, reason: str, who: str, *, refunded: bool = False
    ) -> Order:
        async with UnitOfWork(self._sessions, after_commit=self._after_commit) as uow:
            order = await self._locked(uow.session, order_id)
            if order.status == "cancelled":
                return order
            order.cancel_reason = reason
            self._transition(uow, order, "cancelled", who, reason, refunded=refunded)
            await uow.commit()
        return order

    @staticmethod
    async def _locked(session: AsyncSession, order_id: int) -> Order:
        order = await session.get(
            Order,
            order_id,
            options=WHOLE_ORDER,
            # The order's row only: its items and history are read, not locked.
            with_for_update={"of": Order},
            populate_existing=True,
        )
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order

    @staticmethod
    def _transition(
        uow: UnitOfWork,
        order: Order,
        status: str,
        who: str,
        reason: str | None,
        *,
        refunded: bool = False,
    ) -> None:
        previous = order.status
        # Never into `processing`: only a payment moves an order there (`mark_paid`).
        check_transition(previous, status)
        order.status = status
        fields = events.order_fields(order)
        if status == "processing":
            fields["payment_id"] = order.payment_id
        if status == "cancelled":
            fields |= {
                "cancel_reason": reason or "cancelled",
                "previous_status": previous,
                "refunded": refunded,
            }
        _change(order, previous, status, who, reason)
        uow.publish(events.status_changed(order, status, fields))
        ORDER_TRANSITIONS.labels(status).inc()

    def _written(
        self,
        order: Order,
        written: repository.Written,
        previous: str | None,
        status: str,
        who: str,
    ) -> None:
        """After a one-statement write (which no ORM session saw, nor any unit of work's
        `after_commit`): the order as the write left it, the relay woken, the change counted."""
        order.version, order.updated_at = written.version, written.updated_at
        _change(order, previous, status, who, None).changed_at = written.changed_at
        if self._after_commit is not None:
            self._after_commit()
        ORDER_TRANSITIONS.labels(status).inc()
