"""The dashboard's public contract: the analytics job's results as the routes answer them
(the events' own schemas: analytics_window and anomaly_detected). Documented, not re-validated
on the way out: the results were checked against those schemas when the job wrote them."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ProductFigure(BaseModel):
    product_id: int
    product_name: str | None
    quantity: int = Field(ge=0)
    revenue: float = Field(ge=0)


class RegionFigure(BaseModel):
    order_count: int = Field(ge=0)
    revenue: float = Field(ge=0)


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

    window_start: datetime
    window_end: datetime
    order_count: int = Field(ge=0)
    revenue: float = Field(ge=0)
    avg_order_value: float = Field(ge=0)
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


class Summary(BaseModel):
    """The latest windows added up."""

    windows: int = Field(ge=0)
    from_: datetime | None = Field(alias="from")
    to: datetime | None
    order_count: int = Field(ge=0)
    revenue: float = Field(ge=0)
    avg_order_value: float = Field(ge=0)
    cancellations: int = Field(ge=0)
    top_products: list[ProductFigure]
    by_region: dict[str, RegionFigure]
    recent_anomalies: list[Anomaly]
    late_events: int = Field(ge=0)
