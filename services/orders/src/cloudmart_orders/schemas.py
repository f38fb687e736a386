"""The orders service's public contract: request and response bodies (architecture.md §8)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from cloudmart_common.db import RowId
from cloudmart_common.json_numbers import JSON_INTEGER
from cloudmart_common.money import Money

Id = RowId
Status = Literal["pending", "processing", "shipped", "delivered", "cancelled"]
# A Stripe PaymentMethod id made by the client with Stripe.js: card numbers never reach us.
PaymentMethodId = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,250}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(Strict):
    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER]


class OrderIn(Strict):
    """Prices and totals are not accepted: the server prices every line from the catalog."""

    items: Annotated[list[LineIn], Field(min_length=1, max_length=99)]
    shipping_address: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)
    ]
    shipping_region: (
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2}-[a-z]+(-[0-9])?$", max_length=50)]
        | None
    ) = None
    payment_method: PaymentMethodId

    @field_validator("items")
    @classmethod
    def distinct_products(cls, items: list[LineIn]) -> list[LineIn]:
        ids = [line.product_id for line in items]
        if len(ids) != len(set(ids)):
            raise ValueError("each product may appear in one line only; add up the quantities")
        return items


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    product_name: str
    quantity: int
    price: Money


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: Status | None
    to_status: Status
    changed_by: str
    reason: str | None
    changed_at: datetime


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    status: Status
    total_amount: Money
    currency: str
    shipping_address: str
    shipping_region: str | None
    items: list[ItemOut]
    payment_id: int | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class OrderDetailOut(OrderOut):
    history: list[StatusChangeOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class StatusIn(Strict):
    status: Status
    reason: Reason | None = None


class CancelIn(Strict):
    reason: Reason | None = None
