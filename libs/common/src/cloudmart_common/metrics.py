"""Prometheus RED metrics: requests, errors and latency by route template, never the raw path."""

import weakref
from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import Scope

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being handled")

# A path no route matched is one label value: raw paths would let a scanner explode cardinality.
UNMATCHED_ROUTE = "<unmatched>"
# Where an ASGI app that is no FastAPI route (the gateway's proxy) names its route.
ROUTE_KEY = "cloudmart.route"


def route_of(scope: Scope) -> str:
    """The route template the request matched (the label of its metrics and span name)."""
    route = scope.get(ROUTE_KEY)
    if route is not None:
        return str(route)
    # path_format: the template without convertors (`{order_id}`, not `{order_id:int}`).
    return getattr(scope.get("route"), "path_format", UNMATCHED_ROUTE)


class _PoolCollector(Collector):
    """Connections of each SQLAlchemy pool, read at scrape time (weakly: tests build many)."""

    def __init__(self) -> None:
        self.pools: weakref.WeakValueDictionary[str, QueuePool] = weakref.WeakValueDictionary()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "db_pool_connections", "Pooled database connections by state", labels=["state"]
        )
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps (without overflow)")
        pools = list(self.pools.values())
        if pools:
            in_use.add_metric(["checked_out"], sum(pool.checkedout() for pool in pools))
            in_use.add_metric(["idle"], sum(pool.checkedin() for pool in pools))
            size.add_metric([], sum(pool.size() for pool in pools))
        yield in_use
        yield size


_POOLS = _PoolCollector()
REGISTRY.register(_POOLS)


def observe_pool(engine: AsyncEngine) -> None:
    """Export the engine's pool usage as `db_pool_connections{state}` and `db_pool_size`."""
    if isinstance(engine.pool, QueuePool):
        _POOLS.pools[str(id(engine))] = engine.pool


metrics_router = APIRouter()


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
