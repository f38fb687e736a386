"""The orders tables: orders, their items (name and price at purchase time), status history."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cloudmart_common.db import one_of, service_metadata

STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
# How far the saga got; recovery finishes or compensates from here (service.py).
SAGA_STEPS = ("created", "reserved", "charging", "done")


class Base(DeclarativeBase):
    metadata = service_metadata()


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    saga_step: Mapped[str] = mapped_column(String(20), server_default="created")
    total_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    shipping_address: Mapped[str] = mapped_column(String(500))
    shipping_region: Mapped[str | None] = mapped_column(String(50))
    payment_method: Mapped[str] = mapped_column(String(255))
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    items: Mapped[list["OrderItem"]] = relationship(
        lazy="selectin", order_by="OrderItem.id", cascade="all, delete-orphan"
    )
    history: Mapped[list["StatusChange"]] = relationship(
        lazy="selectin", order_by="StatusChange.id", cascade="all, delete-orphan"
    )

    # Optimistic locking: an UPDATE from a stale read matches no row and raises StaleDataError.
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}  # noqa: RUF012
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("saga_step", SAGA_STEPS), name="saga_step"),
        CheckConstraint("total_amount > 0", name="total_positive"),
        Index("ix_orders_user_id_id", "user_id", "id"),
        # A key places one live order; after a cancelled attempt the same key may try again.
        Index(
            "uq_orders_user_id_idempotency_key",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        # The recovery worker's scan: only the few orders still pending.
        Index("ix_orders_pending", "updated_at", postgresql_where=text("status = 'pending'")),
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # unit price when bought

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price > 0", name="price_positive"),
    )


class StatusChange(Base):
    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(100))  # user:<id>, service:<name>, system
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
