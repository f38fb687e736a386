"""Which reads the fast path takes, which queries it leaves to FastAPI to judge, and how it
behaves while Redis is down."""

import time
from decimal import Decimal
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from cloudmart_products.catalog_cache import CACHE_ONLY_PAUSE_SECONDS, CatalogCache
from cloudmart_products.fast_reads import _list_query, claims
from cloudmart_products.repository import Filters


def _scope(method: str, path: str, query: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "query_string": query} | extra


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/api/products", b""),
        ("GET", "/api/products", b"limit=20"),
        ("GET", "/api/products", b"limit=0"),  # claimed, then handed to FastAPI: a 422
        ("GET", "/api/products/1", b""),
        ("GET", "/api/products/007", b""),
        ("GET", "/api/products/" + "9" * 18, b""),
    ],
)
def test_cached_reads_are_claimed(method: str, path: str, query: bytes) -> None:
    assert claims(_scope(method, path, query))


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("HEAD", "/api/products/1", b""),  # the route answers 405
        ("POST", "/api/products", b""),
        ("PUT", "/api/products/1", b""),
        ("GET", "/api/products/1", b"fields=name"),
        ("GET", "/api/products/", b""),
        ("GET", "/api/products/categories", b""),
        ("GET", "/api/products/sku/ELE-00001", b""),
        ("GET", "/api/products/-1", b""),
        ("GET", "/api/products/1.0", b""),
        ("GET", "/api/products/\u0661", b""),  # an Arabic-Indic one
        ("GET", "/api/products/" + "9" * 19, b""),
        ("GET", "/api/products/1/stock", b""),
        ("GET", "/api/productsX", b""),
    ],
)
def test_everything_else_goes_to_fastapi(method: str, path: str, query: bytes) -> None:
    assert not claims(_scope(method, path, query))


def test_a_request_under_a_root_path_goes_to_fastapi() -> None:
    assert not claims(_scope("GET", "/shop/api/products/1", root_path="/shop"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", (Filters(), 20, None)),
        (b"limit=20", (Filters(), 20, None)),
        (b"limit=007", (Filters(), 7, None)),
        (
            b"limit=100&cursor=eyJpZCI6IHsiTiI6ICI3In19",
            (Filters(), 100, "eyJpZCI6IHsiTiI6ICI3In19"),
        ),
        (b"cursor=abc%3D", (Filters(), 20, "abc=")),
        (
            b"category=home&min_price=020.50&max_price=99999999.99&in_stock=true&q=Lamp+shade",
            (
                Filters("home", Decimal("20.50"), Decimal("99999999.99"), True, "Lamp shade"),
                20,
                None,
            ),
        ),
        (b"in_stock=false&limit=5", (Filters(), 5, None)),
        (b"q=" + b"x" * 100, (Filters(text="x" * 100), 20, None)),
    ],
)
def test_queries_fastapi_parses_the_same_way_are_parsed_here(
    query: bytes, expected: tuple[Filters, int, str | None]
) -> None:
    assert _list_query(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"limit=0",
        b"limit=101",
        b"limit=",
        b"limit=+5",
        b"limit=5.0",
        b"limit=%205",
        b"limit=20&limit=30",  # FastAPI takes the last one
        b"cursor=",
        b"cursor=" + b"c" * 1001,
        b"category=Home%20Garden",
        b"category=books%0A",
        b"category=-books",
        b"min_price=-1",
        b"min_price=1e2",
        b"min_price=.5",
        b"max_price=99999999.991",
        b"max_price=NaN",
        b"in_stock=1",
        b"in_stock=TRUE",
        b"q=",
        b"q=" + b"x" * 101,
        b"page=2",
        b"limit=20&via=fastapi",
    ],
)
def test_other_queries_are_left_to_fastapi(query: bytes) -> None:
    assert _list_query(query) is None


def test_a_category_in_any_case_is_the_slug_as_on_the_route() -> None:
    upper, lower = _list_query(b"category=Books"), _list_query(b"category=books")
    assert upper is not None
    assert upper == lower


class _BrokenRedis:
    """Every command fails, as with Redis down; counts how often it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def register_script(self, _script: str) -> Any:
        async def run(**_: Any) -> Any:
            self.asked += 1
            raise RedisConnectionError("down")

        return run

    async def get(self, _key: str) -> Any:
        self.asked += 1
        raise RedisConnectionError("down")


async def test_after_a_redis_error_cached_reads_leave_redis_to_the_route_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The route behind a missed fast read tries Redis itself: an outage costs one wait, not
    two, and the route still logs and counts it."""
    redis = _BrokenRedis()
    cache = CatalogCache(cast(Redis, redis), 3600, 300)
    assert await cache.cached_product(1) is None
    assert redis.asked == 1
    assert await cache.cached_product(1) is None
    assert await cache.cached_page("digest") is None
    assert redis.asked == 1
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + CACHE_ONLY_PAUSE_SECONDS + 0.1)
    assert await cache.cached_page("digest") is None
    assert redis.asked == 2
