"""The transactional outbox: events written with the business rows, published by a relay."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    FromClause,
    Identity,
    Index,
    Insert,
    String,
    Text,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloudmart_common.db import CommonBase
from cloudmart_common.events import checked_event
from cloudmart_common.tracing import kafka_headers_with_trace


@dataclass(frozen=True)
class OutboxMessage:
    """An event for `topic`, keyed by its aggregate id so one aggregate stays in order."""

    topic: str
    key: str
    event: Mapping[str, Any]


class OutboxRow(CommonBase):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249))
    message_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[UUID] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The writer's trace context, so the trace continues through the relay into consumers.
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The relay's scan: unpublished rows in id order, cheap however big the table grows.
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )


def outbox_values(message: OutboxMessage) -> dict[str, Any]:
    """The outbox row's columns for `message`, for a statement that writes it with the
    business rows (a data-modifying CTE) where the ORM's unit of work is not used."""
    event = checked_event(message.event)
    trace_headers = {
        name: value.decode() for name, value in kafka_headers_with_trace() if value is not None
    }
    return {
        "topic": message.topic,
        "message_key": message.key,
        "event_id": UUID(str(event["event_id"])),
        "event_type": str(event["event_type"]),
        "payload": dict(event),
        "headers": trace_headers,
    }


def outbox_row(message: OutboxMessage) -> OutboxRow:
    return OutboxRow(**outbox_values(message))


_EVENT_COLUMNS = ("topic", "message_key", "event_id", "event_type", "payload", "headers")


def event_insert(source: FromClause | None = None) -> Insert:
    """An INSERT of one outbox row whose values are bound parameters (`event_parameters`
    fills them), for a statement built once that writes business rows and their event
    together: with `source` (a data-modifying CTE), one row per row of it, so the event is
    written only if the change it announces was."""
    table = OutboxRow.__table__
    values = [bindparam(f"event_{name}", type_=table.c[name].type) for name in _EVENT_COLUMNS]
    if source is None:
        return insert(OutboxRow).values(dict(zip(_EVENT_COLUMNS, values, strict=True)))
    return insert(OutboxRow).from_select(_EVENT_COLUMNS, select(*values).select_from(source))


def event_parameters(message: OutboxMessage) -> dict[str, Any]:
    """The parameters of `event_insert` for `message`."""
    return {f"event_{name}": value for name, value in outbox_values(message).items()}
