"""Cached reads answered before FastAPI are the routes' answers: same status, headers and
bytes, one request id, one count under the route template, one server span; everything the
fast path cannot answer reaches the routes, the fault flag included.

The service runs in-process (its lifespan opens DynamoDB and Redis of the local stack), so
its metrics and spans are this test's; its cache is a Redis database of its own, which no
write elsewhere invalidates between a warm-up and the read that follows it.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from redis import Redis

from cloudmart_common.fast_path import FastPathApp
from cloudmart_common.fault_flags import PRODUCT_CATALOG_FAILURE, FaultFlags
from cloudmart_local.layout import REDIS_PORT
from cloudmart_products.app import create_app
from cloudmart_products.fast_reads import LIST_ROUTE, PRODUCT_ROUTE
from cloudmart_products.service import Catalog
from cloudmart_products.settings import Settings

ISOLATED_DB = 10
# A parameter the route does not know: FastAPI ignores it, the fast path leaves the request to
# the route. So `?via=route` is the route's own answer to the same read.
VIA_ROUTE = {"via": "route"}


@pytest.fixture(scope="module")
def service() -> Iterator[TestClient]:
    app = create_app(Settings(redis_url=f"redis://127.0.0.1:{REDIS_PORT}/{ISOLATED_DB}"))
    assert isinstance(app, FastPathApp)
    with TestClient(app) as client:
        yield client
    with Redis(port=REDIS_PORT, db=ISOLATED_DB) as redis:
        redis.flushdb()  # database 10 is this module's alone


@pytest.fixture(scope="module")
def spans(service: TestClient) -> Iterator[InMemorySpanExporter]:
    """Spans ended by the process-wide provider (create_app configured it) from now on."""
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


@pytest.fixture
def catalog(service: TestClient) -> Catalog:
    app = service.app
    assert isinstance(app, FastPathApp)
    found: Catalog = app.state.catalog
    return found


@pytest.fixture(scope="module")
def category(http: httpx.Client, admin: dict[str, str]) -> Iterator[str]:
    """Three products in a category of this module alone, deleted afterwards."""
    name = f"test-fast-{uuid.uuid4().hex[:8]}"
    ids = [_new_product(http, admin, name)["id"] for _ in range(3)]
    yield name
    for product_id in ids:
        http.delete(f"/api/products/{product_id}", headers=admin)


def _new_product(http: httpx.Client, admin: dict[str, str], category: str) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    body = {
        "name": f"Fast Lamp {run}",
        "price": 19.99,
        "category": category,
        "stock_quantity": 10,
        "sku": f"TST-{run.upper()}",
    }
    response = http.post("/api/products", json=body, headers=admin)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def _product_id(service: TestClient, category: str) -> int:
    page = service.get("/api/products", params={"category": category} | VIA_ROUTE)
    product_id: int = page.json()["items"][0]["id"]
    return product_id


def _unchanged(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The headers, but the request id (a new one per request), in order."""
    [request_id] = response.headers.get_list("x-request-id")
    assert request_id
    return [(name, value) for name, value in response.headers.raw if name != b"x-request-id"]


def _same_answer(fast: httpx.Response, route: httpx.Response) -> None:
    assert fast.status_code == route.status_code
    assert _unchanged(fast) == _unchanged(route)
    assert fast.content == route.content


def _requests(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.fixture
def routes_unreached(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Makes the routes' catalog reads fail the test: an answer then came from the fast path."""

    def unreached() -> None:
        async def fail(*_: Any) -> bytes:
            pytest.fail("the route was reached")

        monkeypatch.setattr(catalog, "product_json", fail)
        monkeypatch.setattr(catalog, "page_json", fail)

    return unreached


def test_a_cached_product_is_the_routes_answer_under_the_route_template(
    service: TestClient, category: str, routes_unreached: Callable[[], None]
) -> None:
    product_id = _product_id(service, category)
    route = service.get(f"/api/products/{product_id}", params=VIA_ROUTE)  # fills
    assert (route.status_code, route.json()["id"]) == (200, product_id)
    before = _requests("GET", PRODUCT_ROUTE, 200)
    routes_unreached()
    fast = service.get(f"/api/products/{product_id}")
    _same_answer(fast, route)
    assert [value for name, value in fast.headers.raw if name == b"content-type"] == [
        b"application/json"
    ]
    assert _requests("GET", PRODUCT_ROUTE, 200) == before + 1


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"limit": "20"},
        {"limit": "2"},
        {"limit": "007", "in_stock": "true"},
        {"min_price": "019.99", "max_price": "20", "q": "fast lamp"},
        {"in_stock": "false", "limit": "100"},
    ],
    ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "none",
)
def test_a_cached_page_is_the_routes_answer_under_the_route_template(
    service: TestClient,
    category: str,
    routes_unreached: Callable[[], None],
    query: dict[str, str],
) -> None:
    params = {"category": category} | query
    route = service.get("/api/products", params=params | VIA_ROUTE)  # lists and fills
    assert route.status_code == 200, route.text
    assert route.json()["items"]
    before = _requests("GET", LIST_ROUTE, 200)
    routes_unreached()
    fast = service.get("/api/products", params=params)
    _same_answer(fast, route)
    assert _requests("GET", LIST_ROUTE, 200) == before + 1


def test_the_first_page_of_the_whole_catalog_is_the_routes_answer(
    service: TestClient, routes_unreached: Callable[[], None]
) -> None:
    route = service.get("/api/products?limit=20&via=route")
    assert len(route.json()["items"]) == 20
    cursor = route.json()["next_cursor"]
    following = service.get("/api/products", params={"limit": "20", "cursor": cursor} | VIA_ROUTE)
    assert following.status_code == 200
    routes_unreached()
    _same_answer(service.get("/api/products?limit=20"), route)
    _same_answer(service.get("/api/products", params={"limit": "20", "cursor": cursor}), following)


def test_a_miss_is_answered_by_the_route_and_cached_for_the_next_read(
    service: TestClient, http: httpx.Client, admin: dict[str, str], category: str
) -> None:
    product = _new_product(http, admin, category)
    before = _requests("GET", PRODUCT_ROUTE, 200)
    first = service.get(f"/api/products/{product['id']}")  # a miss: the route loads it
    assert (first.status_code, first.json()["sku"]) == (200, product["sku"])
    assert _requests("GET", PRODUCT_ROUTE, 200) == before + 1, "counted once"
    # The fast path leased nothing when it missed, so the route's fill was not refused.
    with Redis(port=REDIS_PORT, db=ISOLATED_DB) as redis:
        assert redis.get(f"product:{product['id']}") == first.content
    http.delete(f"/api/products/{product['id']}", headers=admin)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/products?limit=0", 422),
        ("/api/products?limit=abc", 422),
        ("/api/products?category=Not%20A%20Category", 422),
        ("/api/products?min_price=-1", 422),
        ("/api/products?cursor=bm90LWpzb24", 422),
        ("/api/products/999999999999", 404),
    ],
)
def test_what_the_fast_path_cannot_answer_gets_the_routes_problem_once(
    service: TestClient, path: str, status: int
) -> None:
    route = LIST_ROUTE if "?" in path else PRODUCT_ROUTE
    before = _requests("GET", route, status)
    response = service.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    # One request id: the one the problem document names.
    assert response.headers.get_list("x-request-id") == [response.json()["request_id"]]
    assert _requests("GET", route, status) == before + 1


def test_head_stays_the_routes_405(service: TestClient, category: str) -> None:
    product_id = _product_id(service, category)
    service.get(f"/api/products/{product_id}")
    response = service.head(f"/api/products/{product_id}")
    # Every method of the resource (the routes of one path), as RFC 9110 asks.
    assert (response.status_code, response.headers["allow"]) == (405, "DELETE, GET, PUT")


def test_the_catalog_failure_flag_refuses_cached_reads(
    service: TestClient, catalog: Catalog, category: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    product_id = _product_id(service, category)
    service.get(f"/api/products/{product_id}")
    service.get("/api/products", params={"category": category})

    class CatalogDown(FaultFlags):
        def product_catalog_failure(self) -> bool:
            return True

    monkeypatch.setattr(catalog, "_faults", CatalogDown(None))
    before = REGISTRY.get_sample_value("fault_injections_total", {"fault": PRODUCT_CATALOG_FAILURE})
    for path in (f"/api/products/{product_id}", f"/api/products?category={category}"):
        refused = service.get(path)
        assert refused.status_code == 503
        assert refused.json()["type"].endswith("/catalog-unavailable")
        route = service.get(path, params=VIA_ROUTE)
        assert route.status_code == 503
        assert json.loads(route.content) | {"request_id": None} == json.loads(refused.content) | {
            "request_id": None
        }
    after = REGISTRY.get_sample_value("fault_injections_total", {"fault": PRODUCT_CATALOG_FAILURE})
    assert (after or 0) - (before or 0) == 4, "each refusal counted once"


def test_a_sampled_traceparent_gives_one_server_span_named_after_the_route(
    service: TestClient, category: str, spans: InMemorySpanExporter
) -> None:
    product_id = _product_id(service, category)
    service.get(f"/api/products/{product_id}")  # cached in Redis now
    for path, route in [
        (f"/api/products/{product_id}", PRODUCT_ROUTE),  # answered by the fast path
        ("/api/products?limit=0", LIST_ROUTE),  # handed to the route
    ]:
        trace_id = uuid.uuid4().hex
        service.get(path, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        traced = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
        [server] = [s for s in traced if s.kind == SpanKind.SERVER]
        assert server.name == f"GET {route}"
        assert server.attributes is not None
        assert server.attributes["http.route"] == route
        if route == PRODUCT_ROUTE:  # the cache read, inside the server span
            # A GET of Redis, or none at all when the process already holds a copy.
            for client in [s for s in traced if s.kind == SpanKind.CLIENT]:
                assert (client.name, client.parent and client.parent.span_id) == (
                    "GET",
                    server.context.span_id,
                )


def test_a_product_read_twice_is_answered_from_the_process_s_copy_without_redis(
    service: TestClient, category: str, spans: InMemorySpanExporter
) -> None:
    product_id = _product_id(service, category)
    copies = cast(FastPathApp, service.app).state.catalog._cache._copies
    deadline = time.monotonic() + 5
    while not copies.live:
        assert time.monotonic() < deadline, "the tracking connection never came up"
        time.sleep(0.01)
    first = service.get(f"/api/products/{product_id}")  # cached in Redis, copied here
    second = service.get(f"/api/products/{product_id}")  # copied here, if not already
    trace_id = uuid.uuid4().hex
    third = service.get(
        f"/api/products/{product_id}",
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert first.content == second.content == third.content
    traced = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    assert [s.kind for s in traced] == [SpanKind.SERVER], "no call to Redis"
