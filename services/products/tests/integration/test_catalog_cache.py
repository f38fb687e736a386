"""Cached product lists: every write is on the very next list read; a cached read costs no
DynamoDB call; a sale keeps the pages; a load that raced a write is never cached."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from redis.asyncio import Redis

from cloudmart_common.kafka_producer import EventProducer
from cloudmart_local.layout import REDIS_PORT
from cloudmart_products.cache_scripts import GENERATION_KEY
from cloudmart_products.catalog_cache import CatalogCache, page_digest
from cloudmart_products.errors import ProductNotFound
from cloudmart_products.repository import Filters, ProductTable
from cloudmart_products.reservations import ReservationTable
from cloudmart_products.schemas import ProductUpdate, ReservationIn, ReservationLine, StockChange
from cloudmart_products.service import Catalog
from cloudmart_products.settings import Settings
from cloudmart_products.table import dynamodb_client

# In-process catalogs use a Redis database of their own: the running service's writes (other
# people's too) bump only database 0, so what these tests count is theirs alone.
ISOLATED_DB = 9


@pytest.fixture
def category(http: httpx.Client, admin: dict[str, str]) -> Iterator[str]:
    """A category of this test alone. Its products are deleted afterwards through the running
    service, which drops what it cached of them, in-process writes it never saw included."""
    name = f"test-cache-{uuid.uuid4().hex[:8]}"
    yield name
    for product_id in _listing(http, category=name):
        http.delete(f"/api/products/{product_id}", headers=admin)


def _new_product(
    http: httpx.Client, admin: dict[str, str], category: str, **overrides: Any
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    body = {
        "name": f"Cache Lamp {run}",
        "description": "A lamp for cache tests",
        "price": 19.99,
        "category": category,
        "stock_quantity": 10,
        "sku": f"TST-{run.upper()}",
    } | overrides
    response = http.post("/api/products", json=body, headers=admin)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def _listing(http: httpx.Client, **filters: Any) -> dict[int, dict[str, Any]]:
    """Every product of a listing, by id, walking its pages as a client does."""
    found: dict[int, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = filters | {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = http.get("/api/products", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        found |= {item["id"]: item for item in body["items"]}
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def _reserve(http: httpx.Client, service: dict[str, str], product_id: int, quantity: int) -> str:
    order_id = f"cache-{uuid.uuid4().hex[:12]}"
    response = http.post(
        "/internal/reservations",
        headers=service,
        json={"order_id": order_id, "lines": [{"product_id": product_id, "quantity": quantity}]},
    )
    assert response.status_code == 201, response.text
    return order_id


def test_an_edit_is_on_the_next_list_read(
    http: httpx.Client, admin: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category)
    word = product["name"].split()[-1]
    listings: list[dict[str, Any]] = [
        {"category": category},
        {"category": category, "in_stock": "true"},
        {"q": word},
        {"max_price": "20"},
        {},
    ]
    for filters in listings:  # cached now
        assert _listing(http, **filters)[product["id"]]["price"] == 19.99

    http.put(
        f"/api/products/{product['id']}",
        json={"name": f"Renamed Lamp {word}", "price": 25},
        headers=admin,
    ).raise_for_status()

    for filters in [{"category": category}, {"category": category, "in_stock": "true"}, {}]:
        listed = _listing(http, **filters)[product["id"]]
        assert (listed["name"], listed["price"]) == (f"Renamed Lamp {word}", 25), filters
    assert _listing(http, q=word.upper())[product["id"]]["name"] == f"Renamed Lamp {word}"
    assert product["id"] not in _listing(http, max_price="20")


def test_a_sale_is_on_the_next_list_read_with_the_product_pages_stock(
    http: httpx.Client, admin: dict[str, str], service: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category, stock_quantity=5)
    in_stock = {"category": category, "in_stock": "true"}
    assert _listing(http, **in_stock)[product["id"]]["stock_quantity"] == 5

    order_id = _reserve(http, service, product["id"], 2)

    shown = http.get(f"/api/products/{product['id']}").json()["stock_quantity"]
    assert shown == 3
    assert _listing(http, **in_stock)[product["id"]]["stock_quantity"] == shown
    assert _listing(http, category=category)[product["id"]]["stock_quantity"] == shown

    http.post(f"/internal/reservations/{order_id}/release", headers=service).raise_for_status()
    assert _listing(http, **in_stock)[product["id"]]["stock_quantity"] == 5


def test_stock_crossing_zero_is_on_the_next_in_stock_read(
    http: httpx.Client, admin: dict[str, str], service: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category, stock_quantity=2)
    other = _new_product(http, admin, category, stock_quantity=7)
    in_stock_pages = [{"category": category, "in_stock": "true"}, {"in_stock": "true"}]
    for filters in in_stock_pages:
        assert product["id"] in _listing(http, **filters)

    order_id = _reserve(http, service, product["id"], 2)  # the last two: sold out
    for filters in in_stock_pages:
        listed = _listing(http, **filters)
        assert product["id"] not in listed, filters
        assert other["id"] in listed
    assert _listing(http, category=category)[product["id"]]["stock_quantity"] == 0

    http.post(f"/internal/reservations/{order_id}/release", headers=service).raise_for_status()
    for filters in in_stock_pages:
        assert _listing(http, **filters)[product["id"]]["stock_quantity"] == 2, filters

    stock = f"/api/products/{product['id']}/stock"
    http.patch(stock, headers=admin, json={"set": 0, "reason": "count"}).raise_for_status()
    assert product["id"] not in _listing(http, category=category, in_stock="true")
    http.patch(stock, headers=admin, json={"adjust": 3, "reason": "delivery"}).raise_for_status()
    assert _listing(http, category=category, in_stock="true")[product["id"]]["stock_quantity"] == 3


def test_a_creation_and_a_deletion_are_on_the_next_list_read(
    http: httpx.Client, admin: dict[str, str], category: str
) -> None:
    kept = _new_product(http, admin, category)
    assert set(_listing(http, category=category)) == {kept["id"]}
    assert kept["id"] in _listing(http)

    doomed = _new_product(http, admin, category)
    assert set(_listing(http, category=category)) == {kept["id"], doomed["id"]}
    assert doomed["id"] in _listing(http)

    http.delete(f"/api/products/{doomed['id']}", headers=admin).raise_for_status()
    assert set(_listing(http, category=category)) == {kept["id"]}
    assert doomed["id"] not in _listing(http)
    assert http.get(f"/api/products/{doomed['id']}").status_code == 404


class _NoEvents:
    """Stock alerts are not what these tests look at."""

    async def send(self, topic: str, key: str, event: dict[str, Any]) -> None:
        return None


@dataclass
class InProcess:
    catalog: Catalog
    cache: CatalogCache
    redis: Redis
    dynamodb_calls: list[str]


@pytest.fixture
async def in_process() -> AsyncIterator[InProcess]:
    """The products service's catalog in this process, counting every DynamoDB call it makes
    (botocore's before-call event sees each one, whichever repository method makes it)."""
    settings = Settings()
    redis = Redis.from_url(f"redis://127.0.0.1:{REDIS_PORT}/{ISOLATED_DB}")
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    async with dynamodb_client(settings) as client:
        client.meta.events.register("before-call.dynamodb.*", count)
        table = ProductTable(client, settings.products_table)
        cache = CatalogCache(redis, 3600, 300)
        reservations = ReservationTable(
            client, settings.products_table, settings.reservations_table
        )
        catalog = Catalog(table, reservations, cache, cast(EventProducer, _NoEvents()), 0)
        yield InProcess(catalog, cache, redis, calls)
    await redis.flushdb()  # database 9 is these tests' alone
    await redis.aclose()


async def test_a_repeated_page_or_product_read_makes_no_dynamodb_call(
    http: httpx.Client, admin: dict[str, str], category: str, in_process: InProcess
) -> None:
    ids = [_new_product(http, admin, category)["id"] for _ in range(3)]
    catalog, calls = in_process.catalog, in_process.dynamodb_calls
    for filters, limit in [(Filters(category=category), 20), (Filters(), 20)]:
        first = await catalog.page_json(filters, limit, None)
        assert calls, "the first read of a page loads it"
        calls.clear()
        assert await catalog.page_json(filters, limit, None) == first
        assert calls == []
    first = await catalog.product_json(ids[0])
    calls.clear()
    assert await catalog.product_json(ids[0]) == first
    assert calls == []


async def test_a_sale_reloads_only_the_sold_product_and_keeps_the_pages(
    http: httpx.Client, admin: dict[str, str], category: str, in_process: InProcess
) -> None:
    sold, unsold = (_new_product(http, admin, category)["id"] for _ in range(2))
    catalog, calls = in_process.catalog, in_process.dynamodb_calls
    in_stock = Filters(category=category, in_stock=True)
    await catalog.page_json(in_stock, 20, None)
    generation = await in_process.redis.get(GENERATION_KEY)

    await catalog.reserve(
        ReservationIn(
            order_id=f"cache-{uuid.uuid4().hex[:12]}",
            lines=[ReservationLine(product_id=sold, quantity=1)],
        )
    )
    assert await in_process.redis.get(GENERATION_KEY) == generation
    calls.clear()
    page = httpx.Response(200, content=await catalog.page_json(in_stock, 20, None)).json()
    assert calls == ["GetItem"], "only the sold product is read again"
    assert {item["id"]: item["stock_quantity"] for item in page["items"]} == {sold: 9, unsold: 10}

    await catalog.change_stock(sold, StockChange(set=0, reason="sold out"))
    assert await in_process.redis.get(GENERATION_KEY) != generation
    page = httpx.Response(200, content=await catalog.page_json(in_stock, 20, None)).json()
    assert [item["id"] for item in page["items"]] == [unsold]


async def test_a_price_stays_cached_through_sales_and_an_edit_is_on_its_next_read(
    http: httpx.Client, admin: dict[str, str], category: str, in_process: InProcess
) -> None:
    product = _new_product(http, admin, category)
    product_id = product["id"]
    catalog, calls = in_process.catalog, in_process.dynamodb_calls
    first = json.loads(await catalog.price_json(product_id))
    assert first == {"id": product_id, "name": product["name"], "price": 19.99}
    assert await catalog.cached_price_json(product_id) is not None

    await catalog.reserve(
        ReservationIn(
            order_id=f"cache-{uuid.uuid4().hex[:12]}",
            lines=[ReservationLine(product_id=product_id, quantity=1)],
        )
    )
    calls.clear()
    assert json.loads(await catalog.price_json(product_id)) == first
    assert calls == [], "a sale leaves the price cached"
    assert json.loads(await catalog.product_json(product_id))["stock_quantity"] == 9

    await catalog.update(product_id, ProductUpdate(name="Repriced Lamp", price=Decimal("25")))
    assert await catalog.cached_price_json(product_id) is None
    assert json.loads(await catalog.price_json(product_id))["price"] == 25
    await catalog.delete(product_id)
    with pytest.raises(ProductNotFound):
        await catalog.price_json(product_id)


def test_the_price_route_answers_from_the_cache_and_says_when_there_is_no_product(
    http: httpx.Client, admin: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category)
    for _ in range(2):  # filled, then the fast path's cached answer
        response = http.get(f"/api/products/{product['id']}/price")
        assert response.status_code == 200, response.text
        assert response.json() == {"id": product["id"], "name": product["name"], "price": 19.99}
    http.delete(f"/api/products/{product['id']}", headers=admin).raise_for_status()
    gone = http.get(f"/api/products/{product['id']}/price")
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")


async def test_a_product_loaded_before_a_write_is_not_cached_after_it(
    http: httpx.Client, admin: dict[str, str], category: str, in_process: InProcess
) -> None:
    product_id = _new_product(http, admin, category)["id"]
    cache = in_process.cache
    missed = await cache.items([product_id])  # a reader misses and goes to DynamoDB...
    assert missed is not None
    assert missed.found == {}
    await cache.invalidate([product_id], listings=True)  # ...a write lands meanwhile...
    old = (b'{"name": "the old copy"}', b'{"name": "the old copy"}')
    await cache.fill(missed.token, {product_id: old})  # ...it fills
    again = await cache.items([product_id])
    assert again is not None
    assert again.found == {}, "the old copy must not be served"
    assert await cache.cached_price(product_id) is None, "nor its price"

    new = (b'{"name": "the new copy"}', b'{"name": "the new copy"}')
    await cache.fill(again.token, {product_id: new})
    filled = await cache.items([product_id])
    assert filled is not None
    assert filled.found == {product_id: b'{"name": "the new copy"}'}
    assert await cache.cached_price(product_id) == b'{"name": "the new copy"}'


async def test_a_page_listed_before_a_write_is_never_served_after_it(
    http: httpx.Client, admin: dict[str, str], category: str, in_process: InProcess
) -> None:
    cache = in_process.cache
    digest = page_digest(
        limit=20,
        cursor=None,
        category=category,
        min_price=None,
        max_price=None,
        in_stock=False,
        text=None,
    )
    missed = await cache.page(digest)  # a reader lists the page from DynamoDB...
    assert missed is not None
    assert missed.ids is None
    product = _new_product(http, admin, category)
    await cache.invalidate([product["id"]], listings=True)  # ...a creation lands meanwhile...
    await cache.store_page(missed.generation, digest, [], None)  # ...it stores the old list
    again = await cache.page(digest)
    assert again is not None
    assert again.ids is None, "the old list must not be served"

    page = await in_process.catalog.page_json(Filters(category=category), 20, None)
    assert httpx.Response(200, content=page).json()["items"][0]["id"] == product["id"]


async def test_reads_fall_back_to_dynamodb_while_redis_is_unreachable(
    http: httpx.Client, admin: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category)
    settings = Settings()
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    async with dynamodb_client(settings) as client:
        table = ProductTable(client, settings.products_table)
        catalog = Catalog(
            table,
            ReservationTable(client, settings.products_table, settings.reservations_table),
            CatalogCache(unreachable, 3600, 300),
            cast(EventProducer, _NoEvents()),
            0,
        )
        one = httpx.Response(200, content=await catalog.product_json(product["id"])).json()
        assert one["sku"] == product["sku"]
        page = await catalog.page_json(Filters(category=category, in_stock=True), 20, None)
        assert [item["id"] for item in httpx.Response(200, content=page).json()["items"]] == [
            product["id"]
        ]
        await catalog.change_stock(product["id"], StockChange(adjust=-1, reason="count"))
    await unreachable.aclose()
