"""The checkout's writes, each one statement: the order's rows and its event land together.

A checkout writes an order, its items, its first history row and `order_created`, then moves
it to `processing` with a history row and `order_paid`. Through the ORM's unit of work that
was fourteen round trips (BEGIN, each INSERT, the locked read, COMMIT) and most of the orders
service's CPU per checkout. Here each write is one statement of data-modifying CTEs, atomic
on its own, run on the driver (`db.Statement`, ADR 0017): built and compiled once, with bound
parameters, where building each and computing its cache key per call, then the session's
machinery around it, cost more than the database's work.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Numeric,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    update,
)

from cloudmart_common.db import Database, Statement
from cloudmart_common.outbox import OutboxMessage, event_insert, event_parameters
from cloudmart_orders.models import Order, OrderItem, StatusChange

# The columns a new order is written with; the rest are the database's defaults.
_GIVEN = (
    "id",
    "user_id",
    "status",
    "saga_step",
    "total_amount",
    "currency",
    "shipping_address",
    "shipping_region",
    "payment_method",
    "idempotency_key",
    "version",
)
_LINES = (
    ("product_id", BigInteger),
    ("product_name", String),
    ("quantity", Integer),
    ("price", Numeric(10, 2)),
)

# Before an order is written: a live order with the buyer's Idempotency-Key (a retry of a
# checkout a crash interrupted) and the id a new one would take, in one round trip. A retry
# leaves a gap in the ids, which nothing needs to be without.
_EARLIER_AND_NEXT_ID = Statement(
    select(
        select(Order.id)
        .where(
            Order.user_id == bindparam("buyer_id"),
            Order.idempotency_key == bindparam("key"),
            Order.status != "cancelled",
        )
        .scalar_subquery()
        .label("earlier"),
        func.nextval(func.pg_get_serial_sequence(Order.__tablename__, "id")).label("next_id"),
    )
)


def _insert_order() -> Select[Any]:
    created = (
        insert(Order)
        .values(
            {
                name: bindparam(f"order_{name}", type_=Order.__table__.c[name].type)
                for name in _GIVEN
            }
        )
        .returning(Order.created_at, Order.updated_at)
        .cte("created")
    )
    # One row per line from parallel arrays (a multi-row VALUES is never cached).
    items = insert(OrderItem).from_select(
        ("order_id", *(name for name, _ in _LINES)),
        select(
            bindparam("order_id", type_=BigInteger),
            *(func.unnest(bindparam(f"line_{name}", type_=ARRAY(kind))) for name, kind in _LINES),
        ),
    )
    change = (
        insert(StatusChange)
        .values(
            order_id=bindparam("order_id"),
            from_status=None,
            to_status="pending",
            changed_by=bindparam("who", type_=String),
        )
        .returning(StatusChange.changed_at)
        .cte("change")
    )
    return select(created.c.created_at, created.c.updated_at, change.c.changed_at).add_cte(
        items.cte("items"), event_insert().cte("event")
    )


def _mark_paid() -> Select[Any]:
    paid = (
        update(Order)
        .where(Order.id == bindparam("order_id"), Order.status == "pending")
        # The optimistic-lock version moves as the ORM would move it.
        .values(
            status="processing",
            payment_id=bindparam("payment_id"),
            saga_step="done",
            version=Order.version + 1,
        )
        .returning(Order.id, Order.version, Order.updated_at)
        .cte("paid")
    )
    change = (
        insert(StatusChange)
        .from_select(
            ("order_id", "from_status", "to_status", "changed_by", "reason"),
            select(
                paid.c.id,
                literal("pending"),
                literal("processing"),
                bindparam("who", type_=String),
                null(),
            ),
        )
        .returning(StatusChange.changed_at)
        .cte("change")
    )
    return select(paid.c.version, paid.c.updated_at, change.c.changed_at).add_cte(
        event_insert(paid).cte("event")
    )


_INSERT_ORDER = Statement(_insert_order())
_MARK_PAID = Statement(_mark_paid())
# The saga's step on a pending order. The optimistic-lock version moves as the ORM would move
# it, so a writer holding an older read of the order still fails.
_ADVANCE = Statement(
    update(Order)
    .where(Order.id == bindparam("order_id"), Order.status == "pending")
    .values(saga_step=bindparam("step"), version=Order.version + 1)
    .returning(Order.version, Order.updated_at)
)
_PAYMENT_STATE = Statement(
    select(Order.status, Order.payment_id).where(Order.id == bindparam("order_id"))
)


@dataclass(frozen=True)
class Written:
    """What the database filled in: the order's timestamps and version, the change's time."""

    version: int
    updated_at: datetime
    changed_at: datetime


async def earlier_or_next_id(database: Database, buyer_id: int, key: str) -> tuple[int | None, int]:
    """(the live order placed with this key, or None; the id for a new order). The id is
    taken before the order is written, so its event can carry it in the same write."""
    row = await database.fetchrow(_EARLIER_AND_NEXT_ID, {"buyer_id": buyer_id, "key": key})
    return row["earlier"], row["next_id"]


async def insert_order(
    database: Database, order: Order, who: str, event: OutboxMessage
) -> tuple[datetime, Written]:
    """Insert the order (with its id), its items, its `pending` history row and its event.

    IntegrityError when a live order already has the buyer's Idempotency-Key.
    """
    parameters = {f"order_{name}": getattr(order, name) for name in _GIVEN}
    parameters |= {
        f"line_{name}": [getattr(item, name) for item in order.items] for name, _ in _LINES
    }
    parameters |= {"order_id": order.id, "who": who} | event_parameters(event)
    written = await database.fetchrow(_INSERT_ORDER, parameters)
    return written["created_at"], Written(
        order.version, written["updated_at"], written["changed_at"]
    )


async def mark_paid(
    database: Database, order_id: int, payment_id: int, who: str, event: OutboxMessage
) -> Written | None:
    """pending -> processing with its history row and `order_paid`, if the order is pending
    when the statement takes its row lock; None (nothing written) if it is not."""
    parameters = {"order_id": order_id, "payment_id": payment_id, "who": who}
    written = await database.fetchrow(_MARK_PAID, parameters | event_parameters(event))
    if written is None:
        return None
    return Written(written["version"], written["updated_at"], written["changed_at"])


async def advance(database: Database, order_id: int, step: str) -> tuple[int, datetime] | None:
    """Record the saga's `step` on a pending order: (version, updated_at); None if not pending."""
    row = await database.fetchrow(_ADVANCE, {"order_id": order_id, "step": step})
    return None if row is None else (row["version"], row["updated_at"])


async def payment_state(database: Database, order_id: int) -> tuple[str, int | None] | None:
    """(status, payment_id) of an order; None if there is no such order."""
    row = await database.fetchrow(_PAYMENT_STATE, {"order_id": order_id})
    return None if row is None else (row["status"], row["payment_id"])
