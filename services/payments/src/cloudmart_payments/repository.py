"""Queries of the payments service."""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloudmart_common.db import Database, Statement, detached
from cloudmart_common.outbox import OutboxMessage, event_insert, event_parameters
from cloudmart_payments.models import Payment, Refund, SavedCard, StripeCustomer


async def payment_by_order(session: AsyncSession, order_id: int) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.order_id == order_id))


async def payment_by_intent(session: AsyncSession, intent_id: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.transaction_id == intent_id))


async def locked_payment(session: AsyncSession, payment_id: int) -> Payment | None:
    """The payment, row-locked until the transaction ends: one settlement or refund at a time."""
    return await session.get(Payment, payment_id, with_for_update=True, populate_existing=True)


async def locked_refund(session: AsyncSession, refund_id: int) -> Refund | None:
    return await session.get(Refund, refund_id, with_for_update=True, populate_existing=True)


async def refund_by_request(session: AsyncSession, payment_id: int, key: str) -> Refund | None:
    return await session.scalar(
        select(Refund).where(Refund.payment_id == payment_id, Refund.request_key == key)
    )


async def refund_by_stripe_id(session: AsyncSession, stripe_refund_id: str) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.stripe_refund_id == stripe_refund_id))


async def committed_refunds(session: AsyncSession, payment_id: int) -> Decimal:
    """Refunded or being refunded: what no new refund may take again."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment_id, Refund.status.in_(("pending", "succeeded"))
        )
    )
    return Decimal(total or 0)


async def stale_payments(session: AsyncSession, before: datetime, limit: int) -> list[Payment]:
    rows = await session.scalars(
        select(Payment)
        .where(Payment.status == "pending", Payment.updated_at < before)
        .order_by(Payment.updated_at)
        .limit(limit)
    )
    return list(rows)


async def stale_refunds(session: AsyncSession, before: datetime, limit: int) -> list[Refund]:
    rows = await session.scalars(
        select(Refund)
        .where(Refund.status == "pending", Refund.updated_at < before)
        .order_by(Refund.updated_at)
        .limit(limit)
    )
    return list(rows)


async def customer_of(session: AsyncSession, user_id: int) -> str | None:
    return await session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
    )


async def charge_target(
    session: AsyncSession, card_id: str, user_id: int
) -> tuple[int | None, str | None]:
    """Who saved this PaymentMethod (None: nobody), and `user_id`'s Stripe Customer when the
    card is theirs (a saved card is charged through it): one query for both."""
    row = (
        await session.execute(
            select(SavedCard.user_id, StripeCustomer.customer_id)
            .outerjoin(StripeCustomer, StripeCustomer.user_id == SavedCard.user_id)
            .where(SavedCard.id == card_id)
        )
    ).one_or_none()
    if row is None:
        return None, None
    owner, customer = row
    return owner, customer if owner == user_id else None


async def card_owner(session: AsyncSession, card_id: str) -> int | None:
    """The user who saved this PaymentMethod, if anyone did."""
    return await session.scalar(select(SavedCard.user_id).where(SavedCard.id == card_id))


async def saved_card(session: AsyncSession, user_id: int, card_id: str) -> SavedCard | None:
    return await session.scalar(
        select(SavedCard).where(SavedCard.user_id == user_id, SavedCard.id == card_id)
    )


async def saved_cards(
    session: AsyncSession, user_id: int, limit: int, after: str | None
) -> list[SavedCard]:
    query = select(SavedCard).where(SavedCard.user_id == user_id)
    if after is not None:
        query = query.where(SavedCard.id > after)
    return list(await session.scalars(query.order_by(SavedCard.id).limit(limit)))


async def saved_card_count(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(SavedCard).where(SavedCard.user_id == user_id)
    )
    return int(count or 0)


def _open() -> Select[Any]:
    opened = (
        insert(Payment)
        .values(
            {
                name: bindparam(name, type_=Payment.__table__.c[name].type)
                for name in ("order_id", "user_id", "amount", "currency", "payment_method")
            }
        )
        .on_conflict_do_nothing(index_elements=[Payment.order_id])
        .returning(*Payment.__table__.columns)
        .cte("opened")
    )
    return (
        select(*opened.c, SavedCard.user_id.label("card_owner"), StripeCustomer.customer_id)
        .select_from(opened)
        .outerjoin(SavedCard, SavedCard.id == opened.c.payment_method)
        .outerjoin(StripeCustomer, StripeCustomer.user_id == SavedCard.user_id)
    )


def _settle() -> Select[Any]:
    settled = (
        update(Payment)
        # Settled only from pending: the row lock this takes serialises settlements.
        .where(Payment.id == bindparam("payment_id"), Payment.status == "pending")
        .values(
            status=bindparam("status"),
            failure_code=bindparam("failure_code"),
            failure_reason=bindparam("failure_reason"),
            # Kept when not given.
            charge_id=func.coalesce(bindparam("charge_id", type_=String), Payment.charge_id),
            transaction_id=func.coalesce(
                bindparam("transaction_id", type_=String), Payment.transaction_id
            ),
        )
        .returning(*Payment.__table__.columns)
        .cte("settled")
    )
    return select(*settled.c).add_cte(event_insert(settled).cte("event"))


_OPEN = Statement(_open())
_SETTLE = Statement(_settle())


async def open_payment(
    database: Database, fields: Mapping[str, Any]
) -> tuple[Payment, tuple[int | None, str | None]] | None:
    """A new pending payment with `fields` (order_id, user_id, amount, currency,
    payment_method) and its charge target (as `charge_target`), in one statement; None (and
    nothing written) if the order already has a payment."""
    row = await database.fetchrow(_OPEN, fields)
    if row is None:
        return None
    payment = detached(Payment, row)
    owner = row["card_owner"]
    return payment, (owner, row["customer_id"] if owner == payment.user_id else None)


async def settle(
    database: Database,
    payment_id: int,
    outcome: Mapping[str, str | None],
    event: OutboxMessage,
) -> Payment | None:
    """pending -> `outcome["status"]` with its event, in one statement; None (nothing
    written) if the payment was not pending. `outcome`: status, failure_code,
    failure_reason, charge_id and transaction_id (None keeps what the row has)."""
    parameters = {"payment_id": payment_id, **outcome} | event_parameters(event)
    row = await database.fetchrow(_SETTLE, parameters)
    return None if row is None else detached(Payment, row)
