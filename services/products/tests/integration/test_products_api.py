"""The products service as its clients see it: the running service on :5002, the emulator, Redis."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from redis import Redis

from cloudmart_local.layout import REDIS_PORT, SERVICE_PORTS
from cloudmart_local.probes import dynamodb_client
from tests.stack_control import notification_events, stock_of, stopped

BASE = f"http://127.0.0.1:{SERVICE_PORTS['products']}"


def _new_product(http: httpx.Client, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Test Lamp",
        "description": "A lamp for tests",
        "price": 19.99,
        "category": "test-lighting",
        "stock_quantity": 10,
        "sku": f"TST-{uuid.uuid4().hex[:10].upper()}",
    } | overrides
    response = http.post("/api/products", json=body, headers=admin)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def _all_products() -> list[dict[str, Any]]:
    client, items, request = dynamodb_client(), [], {"TableName": "products"}
    while True:
        page = client.scan(**request)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [
        {
            "id": int(i["id"]["N"]),
            "category": i["category"]["S"],
            "price": Decimal(i["price"]["N"]),
            "stock": int(i["stock_quantity"]["N"]),
            "text": i["search_text"]["S"],
        }
        for i in items
        if int(i["id"]["N"]) > 0
    ]


FILTERS = [
    {},
    {"category": "books"},
    {"category": "electronics", "in_stock": "true"},
    {"min_price": "20", "max_price": "150"},
    {"category": "home", "min_price": "10", "in_stock": "true"},
    {"q": "classic"},
    {"q": "deluxe", "category": "toys", "max_price": "100"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_pagination_walks_every_match_once(http: httpx.Client, filters: dict[str, str]) -> None:
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(500):
        params = filters | {"limit": "7"} | ({"cursor": cursor} if cursor else {})
        page = http.get("/api/products", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 7
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = {
        p["id"]
        for p in _all_products()
        if ("category" not in filters or p["category"] == filters["category"])
        and ("min_price" not in filters or p["price"] >= Decimal(filters["min_price"]))
        and ("max_price" not in filters or p["price"] <= Decimal(filters["max_price"]))
        and ("in_stock" not in filters or p["stock"] > 0)
        and ("q" not in filters or filters["q"] in p["text"])
    }
    assert len(seen) == len(set(seen)), "a product came twice"
    assert set(seen) == expected
    assert expected, "the demo catalog should match every filter here"


def test_a_forged_cursor_is_422(http: httpx.Client) -> None:
    assert http.get("/api/products", params={"cursor": "bm90LWpzb24"}).status_code == 422
    forged = "eyJpZCI6IHsiUyI6ICJ4In19"  # {"id": {"S": "x"}}
    assert http.get("/api/products", params={"cursor": forged}).status_code == 422


def test_sku_and_categories(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin)
    assert http.get(f"/api/products/sku/{product['sku']}").json()["id"] == product["id"]
    counts = {
        c["category"]: c["product_count"]
        for c in http.get("/api/products/categories").json()["items"]
    }
    assert counts["books"] == 30
    assert counts["test-lighting"] >= 1


def test_a_category_is_matched_whatever_its_case(http: httpx.Client, admin: dict[str, str]) -> None:
    # The seed's own `?category=Electronics` finds the `electronics` slug (was a 422).
    category = f"test-case-{uuid.uuid4().hex[:8]}"
    product = _new_product(http, admin, category=category)
    for asked in (category, category.upper(), category.title()):
        for _ in range(2):  # a miss, then the cached page (answered before the route)
            page = http.get("/api/products", params={"category": asked})
            assert page.status_code == 200, page.text
            assert [item["id"] for item in page.json()["items"]] == [product["id"]], asked
    assert http.get("/api/products", params={"category": "Not A Slug"}).status_code == 422


def test_money_is_a_json_number(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin, price=1234.5)
    assert http.get(f"/api/products/{product['id']}").json()["price"] == 1234.5


def test_a_duplicate_sku_is_409(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin)
    again = http.post(
        "/api/products",
        headers=admin,
        json={"name": "Other", "price": 5, "category": "test-lighting", "sku": product["sku"]},
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "bad",
    [
        {"price": -1},
        {"price": "abc"},
        {"price": 1e12},
        {"price": "NaN"},
        {"price": 0},
        {"price": 1.999},
        {"stock_quantity": -5},
        {"stock_quantity": 10**9},
        {"stock_quantity": "many"},
        {"sku": "lower-case"},
        {"category": "Has Space"},
    ],
)
def test_invalid_products_are_422(
    http: httpx.Client, admin: dict[str, str], bad: dict[str, Any]
) -> None:
    body = {
        "name": "X",
        "price": 5,
        "category": "test-lighting",
        "sku": f"TST-{uuid.uuid4().hex[:8].upper()}",
    } | bad
    response = http.post("/api/products", headers=admin, json=body)
    assert response.status_code == 422, (bad, response.text)
    assert response.headers["content-type"] == "application/problem+json"


def test_writes_need_an_admin_and_internal_routes_a_service(
    http: httpx.Client, customer: dict[str, str], admin: dict[str, str]
) -> None:
    product = _new_product(http, admin)
    body = {"name": "X", "price": 5, "category": "c", "sku": "TST-NOPE"}
    assert http.post("/api/products", json=body).status_code == 401
    assert http.post("/api/products", json=body, headers=customer).status_code == 403
    path = f"/api/products/{product['id']}"
    assert http.put(path, json={"name": "Y"}, headers=customer).status_code == 403
    assert http.delete(path, headers=customer).status_code == 403
    assert (
        http.patch(f"{path}/stock", json={"set": 1, "reason": "x"}, headers=customer).status_code
        == 403
    )
    reservation = {"order_id": "o-1", "lines": [{"product_id": product["id"], "quantity": 1}]}
    assert (
        http.post("/internal/reservations", json=reservation, headers=customer).status_code == 403
    )
    assert http.post("/internal/reservations", json=reservation, headers=admin).status_code == 403
    assert http.post("/internal/reservations", json=reservation).status_code == 401


def test_fifty_concurrent_reservations_of_the_last_ten_units(
    http: httpx.Client, admin: dict[str, str], service: dict[str, str]
) -> None:
    product = _new_product(http, admin, stock_quantity=10)

    def reserve(n: int) -> int:
        body = {
            "order_id": f"race-{product['id']}-{n}",
            "lines": [{"product_id": product["id"], "quantity": 1}],
        }
        return httpx.post(
            f"{BASE}/internal/reservations", json=body, headers=service, timeout=60
        ).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(reserve, range(50)))
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    assert stock_of(product["id"]) == 0


def test_reservations_are_idempotent_all_or_nothing_and_released_once(
    http: httpx.Client, admin: dict[str, str], service: dict[str, str]
) -> None:
    lamp = _new_product(http, admin, stock_quantity=5)
    chair = _new_product(http, admin, stock_quantity=2)
    order = f"order-{uuid.uuid4().hex[:8]}"
    lines = [{"product_id": lamp["id"], "quantity": 3}, {"product_id": chair["id"], "quantity": 2}]
    first = http.post(
        "/internal/reservations", json={"order_id": order, "lines": lines}, headers=service
    )
    assert first.status_code == 201
    again = http.post(
        "/internal/reservations", json={"order_id": order, "lines": lines}, headers=service
    )
    assert (again.status_code, stock_of(lamp["id"]), stock_of(chair["id"])) == (200, 2, 0)
    other = http.post(
        "/internal/reservations",
        headers=service,
        json={"order_id": order, "lines": [{"product_id": lamp["id"], "quantity": 1}]},
    )
    assert other.status_code == 409

    short = http.post(
        "/internal/reservations",
        headers=service,
        json={
            "order_id": f"short-{order}",
            "lines": [
                {"product_id": lamp["id"], "quantity": 1},
                {"product_id": chair["id"], "quantity": 1},
            ],
        },
    )
    assert short.status_code == 409
    assert short.json()["product_ids"] == [chair["id"]]
    assert stock_of(lamp["id"]) == 2  # the line that fitted was not taken either

    for _ in range(3):
        released = http.post(f"/internal/reservations/{order}/release", headers=service)
        assert released.json()["status"] == "released"
        assert (stock_of(lamp["id"]), stock_of(chair["id"])) == (5, 2)
    assert (
        http.post("/internal/reservations/never-reserved/release", headers=service).status_code
        == 404
    )


def test_reads_are_cached_and_writes_invalidate(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin)
    redis = Redis(host="127.0.0.1", port=REDIS_PORT)
    key = f"product:{product['id']}"
    assert redis.get(key) is None
    http.get(f"/api/products/{product['id']}")
    assert json.loads(redis.get(key) or b"{}")["name"] == "Test Lamp"
    ttl = redis.ttl(key)
    assert 3500 < ttl <= 3600
    http.put(f"/api/products/{product['id']}", json={"name": "Renamed Lamp"}, headers=admin)
    assert redis.get(key) is None
    assert http.get(f"/api/products/{product['id']}").json()["name"] == "Renamed Lamp"


def test_reads_are_served_while_redis_is_down(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin)
    with stopped("redis"):
        response = http.get(f"/api/products/{product['id']}")
        assert (response.status_code, response.json()["sku"]) == (200, product["sku"])
        assert http.get("/api/products", params={"category": "books"}).status_code == 200
        page = http.get("/api/products", params={"in_stock": "true", "limit": 20})
        assert (page.status_code, len(page.json()["items"])) == (200, 20)


def test_low_stock_is_announced_once_per_crossing(
    http: httpx.Client, admin: dict[str, str], service: dict[str, str]
) -> None:
    product = _new_product(http, admin, stock_quantity=12)
    for n, quantity in enumerate((1, 3, 1)):  # 11, 8 (crosses 10), 7
        http.post(
            "/internal/reservations",
            headers=service,
            json={
                "order_id": f"low-{product['id']}-{n}",
                "lines": [{"product_id": product["id"], "quantity": quantity}],
            },
        )
    events = notification_events("stock_low", product_id=product["id"], sku=product["sku"])
    assert [event["stock_quantity"] for event, _ in events] == [8]
    http.patch(
        f"/api/products/{product['id']}/stock", headers=admin, json={"set": 50, "reason": "restock"}
    )  # back above: the next crossing counts
    http.patch(
        f"/api/products/{product['id']}/stock",
        headers=admin,
        json={"adjust": -45, "reason": "breakage"},
    )
    deadline = time.monotonic() + 10
    while len(events) < 2 and time.monotonic() < deadline:
        events = notification_events("stock_low", product_id=product["id"], sku=product["sku"])
    assert [event["stock_quantity"] for event, _ in events] == [8, 5]


def test_stock_changes_never_go_negative(http: httpx.Client, admin: dict[str, str]) -> None:
    product = _new_product(http, admin, stock_quantity=3)
    path = f"/api/products/{product['id']}/stock"
    assert http.patch(path, headers=admin, json={"adjust": -4, "reason": "x"}).status_code == 409
    assert (
        http.patch(path, headers=admin, json={"set": 1, "adjust": 1, "reason": "x"}).status_code
        == 422
    )
    assert http.patch(path, headers=admin, json={"set": -1, "reason": "x"}).status_code == 422
    assert (
        http.patch(path, headers=admin, json={"adjust": -3, "reason": "sold"}).json()[
            "stock_quantity"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("DELETE", "/api/products/0", None),
        ("PUT", "/api/products/0", {"name": "Counter"}),
        ("PATCH", "/api/products/0/stock", {"set": 5, "reason": "fuzz"}),
        ("GET", "/api/products/0", None),
    ],
)
def test_the_id_counter_is_no_product(
    http: httpx.Client, admin: dict[str, str], method: str, path: str, body: Any
) -> None:
    """Id 0 holds the next id: a route reaching it (a fuzzer's boundary value did) would
    delete it, and every id would be issued again over existing products."""
    counter = {"TableName": "products", "Key": {"id": {"N": "0"}}, "ConsistentRead": True}
    before = dynamodb_client().get_item(**counter)["Item"]

    response = http.request(method, path, json=body, headers=admin)

    assert response.status_code in (404, 422), response.text
    assert dynamodb_client().get_item(**counter)["Item"] == before
    assert _new_product(http, admin)["id"] > int(before["next_id"]["N"])
