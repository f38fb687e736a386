"""The payments service's public contract: request and response bodies."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudmart_common.db import RowId
from cloudmart_common.money import Amount, Money

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A Stripe PaymentMethod id: raw card numbers never reach CloudMart (architecture.md §8).
PaymentMethodId = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,250}$")]
Id = RowId
PaymentStatus = Literal["pending", "succeeded", "failed", "partially_refunded", "refunded"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcessIn(Strict):
    order_id: Id
    user_id: Id = Field(description="The buyer: who may read this payment later")
    amount: Amount
    currency: Currency = "USD"
    payment_method: PaymentMethodId


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    user_id: int
    amount: Money
    currency: str
    status: PaymentStatus
    payment_method: str
    transaction_id: str | None
    refunded_amount: Money
    failure_code: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class RefundIn(Strict):
    payment_id: Id
    amount: Amount | None = Field(default=None, description="Omitted: all that is left")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    amount: Money
    reason: str
    status: Literal["pending", "succeeded", "failed"]
    failure_reason: str | None
    created_at: datetime
    payment: PaymentOut


class CardIn(Strict):
    payment_method: PaymentMethodId


class CardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    created_at: datetime


class CardPage(BaseModel):
    items: list[CardOut]
    next_cursor: str | None


class WebhookOut(BaseModel):
    received: bool = True
    handled: bool


class ReconcileOut(BaseModel):
    settled: int = Field(description="Payments and refunds settled from Stripe's state")
