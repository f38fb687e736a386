"""The checkout's writes, each one statement: the order's rows and its event land together.

A checkout writes an order, its items, its first history row and `order_created`, then moves
it to `processing` with a history row and `order_paid`. Through the ORM's unit of work that
was fourteen round trips (BEGIN, each INSERT, the locked read, COMMIT) and most of the orders
service's CPU per checkout. Here each write is one statement of data-modifying CTEs, atomic
on its own, on a single-statement (autocommit) session (ADR 0017).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Numeric,
    String,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cloudmart_common.outbox import OutboxMessage, OutboxRow, outbox_values
from cloudmart_orders.models import Order, OrderItem, StatusChange

_ORDER_ID_SEQUENCE = func.pg_get_serial_sequence(Order.__tablename__, "id")
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
_LINE_COLUMNS = (
    ("product_id", BigInteger),
    ("product_name", String),
    ("quantity", Integer),
    ("price", Numeric(10, 2)),
)
_CHANGE_COLUMNS = ("order_id", "from_status", "to_status", "changed_by", "reason")


@dataclass(frozen=True)
class Written:
    """What the database filled in: the order's timestamps and version, the change's time."""

    version: int
    updated_at: datetime
    changed_at: datetime


async def next_order_id(session: AsyncSession) -> int:
    """An id taken before the order is written, so its event can carry it in the same write."""
    order_id = await session.scalar(select(func.nextval(_ORDER_ID_SEQUENCE)))
    assert order_id is not None
    return int(order_id)


async def insert_order(
    session: AsyncSession,
    order: Order,
    who: str,
    event: OutboxMessage,
) -> tuple[datetime, Written]:
    """Insert the order (with its id), its items, its `pending` history row and its event.

    IntegrityError when a live order already has the buyer's Idempotency-Key.
    """
    created = (
        insert(Order)
        .values({name: getattr(order, name) for name in _GIVEN})
        .returning(Order.created_at, Order.updated_at)
        .cte("created")
    )
    # One row per line from parallel arrays: a multi-row VALUES is compiled anew each time
    # (SQLAlchemy does not cache it), which cost more than the round trips it saved.
    items = insert(OrderItem).from_select(
        ("order_id", "product_id", "product_name", "quantity", "price"),
        select(
            literal(order.id, BigInteger),
            *(
                func.unnest(literal([getattr(item, name) for item in order.items], ARRAY(kind)))
                for name, kind in _LINE_COLUMNS
            ),
        ),
    )
    change = (
        insert(StatusChange)
        .values(order_id=order.id, from_status=None, to_status="pending", changed_by=who)
        .returning(StatusChange.changed_at)
        .cte("change")
    )
    written = (
        await session.execute(
            select(created.c.created_at, created.c.updated_at, change.c.changed_at).add_cte(
                items.cte("items"), insert(OutboxRow).values(outbox_values(event)).cte("event")
            )
        )
    ).one()
    return written.created_at, Written(order.version, written.updated_at, written.changed_at)


async def mark_paid(
    session: AsyncSession, order_id: int, payment_id: int, who: str, event: OutboxMessage
) -> Written | None:
    """pending -> processing with its history row and `order_paid`, if the order is pending
    when the statement takes its row lock; None (nothing written) if it is not."""
    paid = (
        update(Order)
        .where(Order.id == order_id, Order.status == "pending")
        # The optimistic-lock version moves as the ORM would move it.
        .values(
            status="processing",
            payment_id=payment_id,
            saga_step="done",
            version=Order.version + 1,
        )
        .returning(Order.id, Order.version, Order.updated_at)
        .cte("paid")
    )
    change = (
        insert(StatusChange)
        .from_select(
            _CHANGE_COLUMNS,
            select(paid.c.id, literal("pending"), literal("processing"), literal(who), null()),
        )
        .returning(StatusChange.changed_at)
        .cte("change")
    )
    written = (
        await session.execute(
            select(paid.c.version, paid.c.updated_at, change.c.changed_at).add_cte(
                _written_if(paid, outbox_values(event)).cte("event")
            )
        )
    ).one_or_none()
    if written is None:
        return None
    return Written(written.version, written.updated_at, written.changed_at)


def _written_if(condition: Any, values: dict[str, Any]) -> Any:
    """An INSERT of the outbox row `values` for each row of `condition` (a CTE): none if the
    change it announces did not happen."""
    table = OutboxRow.__table__
    return insert(OutboxRow).from_select(
        list(values),
        select(*(literal(value, table.c[name].type) for name, value in values.items())).select_from(
            condition
        ),
    )
