"""The payments tables: payments, refunds, and each user's Stripe customer and saved cards."""

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
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloudmart_common.db import one_of, service_metadata

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "partially_refunded", "refunded")
REFUND_STATUSES = ("pending", "succeeded", "failed")


class Base(DeclarativeBase):
    metadata = service_metadata()


class Payment(Base):
    """One charge per order. `pending` is written before Stripe is asked (see service.py)."""

    __tablename__ = "payments"
    # updated_at comes back with the UPDATE (RETURNING), readable after the session closed.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(255))
    # The Stripe PaymentIntent, stored before it is confirmed: the reconciler's handle on it.
    transaction_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default="0")
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_bound"),
        # The reconciler's scan: only the few rows still pending.
        Index("ix_payments_pending", "updated_at", postgresql_where="status = 'pending'"),
    )


class Refund(Base):
    __tablename__ = "refunds"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    # The caller's Idempotency-Key: a retried request finds and resumes its refund.
    request_key: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint(one_of("status", REFUND_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("payment_id", "request_key"),
    )


class StripeCustomer(Base):
    """The Stripe Customer holding a user's saved cards, created on the first save."""

    __tablename__ = "stripe_customers"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SavedCard(Base):
    """A PaymentMethod attached to the user's Customer: display data only, never the number."""

    __tablename__ = "saved_cards"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # pm_...
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    brand: Mapped[str] = mapped_column(String(30))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
