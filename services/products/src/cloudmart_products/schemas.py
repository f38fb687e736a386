"""The products service's public contract: request and response bodies."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from cloudmart_common.json_numbers import JSON_INTEGER
from cloudmart_common.money import Amount, Money

Price = Amount
# Counts are JSON integers: `true` is not 1, nor "5" five (what the document says).
Stock = Annotated[int, Field(ge=0, le=1_000_000), JSON_INTEGER]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,49}$"
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)]
# A category asked for in a query, matched without regard to case (`?category=Electronics` is
# the `electronics` slug); stored categories stay lower-case slugs (ADR 0028).
CATEGORY_QUERY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$"
CategoryQuery = Annotated[
    str, StringConstraints(pattern=CATEGORY_QUERY_PATTERN), AfterValidator(str.lower)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S{1,500}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(Strict):
    name: Name
    description: Text = ""
    price: Price
    category: Category
    stock_quantity: Stock = 0
    image_url: Url | None = None
    sku: Sku


class ProductUpdate(Strict):
    """Catalog fields; stock changes go through PATCH /stock so each carries a reason.

    An omitted field keeps its value; `image_url: null` removes the image. The other fields
    cannot be null: a stored null name or price made the product unreadable (a 500 on reads).
    """

    name: Name | SkipJsonSchema[None] = None
    description: Text | SkipJsonSchema[None] = None
    price: Price | SkipJsonSchema[None] = None
    category: Category | SkipJsonSchema[None] = None
    image_url: Url | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> Self:
        nulls = sorted(
            name for name in self.model_fields_set - {"image_url"} if getattr(self, name) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; omit a field to keep it")
        return self


class ProductOut(BaseModel):
    id: int
    name: str
    description: str
    price: Money
    category: str
    stock_quantity: int
    image_url: str | None = None
    sku: str
    created_at: datetime
    updated_at: datetime


class PriceOut(BaseModel):
    """What a checkout prices an order line with."""

    id: int
    name: str
    price: Money


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None


class CategoryCount(BaseModel):
    category: str
    product_count: int


class CategoriesOut(BaseModel):
    items: list[CategoryCount]
    next_cursor: None = None


class StockChange(Strict):
    """Exactly one of `set` (absolute) and `adjust` (relative), with a reason for the audit log."""

    set: Stock | None = None
    adjust: Annotated[int, Field(ge=-1_000_000, le=1_000_000), JSON_INTEGER] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

    @model_validator(mode="after")
    def one_change(self) -> Self:
        if (self.set is None) == (self.adjust is None):
            raise ValueError("give exactly one of `set` and `adjust`")
        return self


class ReservationLine(Strict):
    product_id: Annotated[int, Field(gt=0)]
    quantity: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER]


class ReservationIn(Strict):
    order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    # A transaction holds at most 100 items: the reservation record plus 99 lines.
    lines: Annotated[list[ReservationLine], Field(min_length=1, max_length=99)]

    @model_validator(mode="after")
    def distinct_products(self) -> Self:
        ids = [line.product_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("each product may appear in one line only")
        return self


class ReservationOut(BaseModel):
    order_id: str
    status: Literal["reserved", "released"]
    lines: list[ReservationLine]
