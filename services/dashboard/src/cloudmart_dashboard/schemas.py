"""The dashboard's public contract: the analytics job's results as the routes answer them
(the events' own schemas: analytics_window, anomaly_detected and trending_products). Documented,
not re-validated on the way out: the results were checked against those schemas when the job
wrote them. The figures' definitions: analytics/README.md."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ProductFigure(BaseModel):
    product_id: int
    product_name: str | None
    quantity: int = Field(ge=0, description="Units sold: paid less refunded")
    revenue: float = Field(ge=0, description="Money taken for them: paid less refunded")


class RankedProduct(ProductFigure):
    rank: int = Field(ge=1, description="1: sold the most units (then: took the most money)")


class RegionFigure(BaseModel):
    order_count: int = Field(ge=0, description="Orders created")
    gross_order_value: float | None = Field(
        default=None, ge=0, description="Their value (absent from version 1 windows)"
    )
    revenue: float = Field(description="Money taken: paid less refunded (version 1: gross)")


class Anomaly(BaseModel):
    window_start: datetime
    window_end: datetime
    metric: Literal["order_count", "revenue"]
    value: float
    baseline_mean: float
    threshold: float
    direction: Literal["spike", "drop"]


class Window(BaseModel):
    """One tumbling window's figures."""

    event_version: int = Field(
        default=1,
        ge=1,
        description="2: revenue is money taken; 1 (windows from before): revenue was the gross",
    )
    window_start: datetime
    window_end: datetime
    order_count: int = Field(ge=0, description="Orders created, whatever became of them")
    gross_order_value: float | None = Field(
        default=None, ge=0, description="The value of every order created"
    )
    paid_order_count: int | None = Field(default=None, ge=0, description="Orders paid")
    revenue: float = Field(
        description="Money taken: orders paid less paid orders cancelled (refunded), both in "
        "the window; below zero when refunds outweigh payments"
    )
    refunded_order_count: int | None = Field(default=None, ge=0)
    refunds: float | None = Field(default=None, ge=0, description="The refunded orders' value")
    avg_order_value: float = Field(
        ge=0, description="The average paid order: (revenue + refunds) / paid_order_count"
    )
    orders_per_minute: float | None = Field(default=None, ge=0)
    cancellations: int | None = Field(default=None, ge=0)
    active_buyers: int | None = Field(default=None, ge=0)
    repeat_buyers: int | None = Field(default=None, ge=0)
    top_products: list[ProductFigure]
    top_products_by_revenue: list[ProductFigure] | None = None
    by_region: dict[str, RegionFigure]
    orders_by_hour: dict[str, int] | None = None
    anomalies: list[dict[str, Any]]


class WindowPage(BaseModel):
    items: list[Window]
    next_cursor: str | None = Field(description="The window_start to pass as `cursor` next")


class TrendingProducts(BaseModel):
    """The products sold over the sliding window that ended last, best first."""

    window_start: datetime
    window_end: datetime
    window_seconds: int = Field(ge=1, description="The sliding window's size")
    slide_seconds: int = Field(ge=1, description="How often a window starts (and this changes)")
    products: list[RankedProduct]


class Summary(BaseModel):
    """The latest windows added up."""

    windows: int = Field(ge=0)
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    order_count: int = Field(ge=0)
    gross_order_value: float = Field(ge=0)
    paid_order_count: int = Field(ge=0)
    revenue: float
    refunds: float = Field(ge=0)
    avg_order_value: float = Field(ge=0)
    cancellations: int = Field(ge=0)
    top_products: list[ProductFigure]
    by_region: dict[str, RegionFigure]
    recent_anomalies: list[Anomaly]
    late_events: int = Field(ge=0)
