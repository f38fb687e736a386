"""The dashboard: results from analytics-results into Redis, served and streamed to admins."""

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis import Redis

from cloudmart_common.events import new_event
from cloudmart_local.layout import REDIS_PORT
from tests.accounts import Account, admin, new_customer
from tests.stack_control import publish, service_url, wait_for

BASE = service_url("dashboard")


def _window(start: str, end: str, orders: int) -> dict[str, Any]:
    return new_event(
        "analytics_window",
        {
            "result_type": "window",
            "window_start": start,
            "window_end": end,
            "order_count": orders,
            "revenue": 12.5 * orders,
            "avg_order_value": 12.5,
            "top_products": [
                {
                    "product_id": 1,
                    "product_name": "Lamp",
                    "quantity": orders,
                    "revenue": 12.5 * orders,
                }
            ],
            "by_region": {"eu-west": {"order_count": orders, "revenue": 12.5 * orders}},
            "anomalies": [],
        },
    )


@pytest.fixture
def far_future() -> Iterator[list[str]]:
    """Window starts no job will produce; removed from Redis afterwards."""
    year = 2090 + uuid.uuid4().int % 9
    starts = [f"{year}-01-01T00:0{minute}:00Z" for minute in range(3)]
    yield starts
    redis = Redis(host="127.0.0.1", port=REDIS_PORT)
    redis.hdel("analytics:windows", *starts)
    redis.zrem("analytics:window-index", *starts)


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


def test_results_are_kept_and_served_newest_first(far_future: list[str], staff: Account) -> None:
    first, second = far_future[0], far_future[1]
    publish("analytics-results", first, _window(first, far_future[1], 3))
    publish("analytics-results", second, _window(second, far_future[2], 5))

    def served() -> list[dict[str, Any]] | None:
        items = httpx.get(f"{BASE}/api/analytics/windows?limit=2", headers=staff.headers).json()
        starts = [item["window_start"] for item in items["items"]]
        return items["items"] if starts == [second, first] else None

    items = wait_for(served, timeout=30, what="both windows on the dashboard")
    assert items[0]["order_count"] == 5
    page = httpx.get(f"{BASE}/api/analytics/windows?limit=1", headers=staff.headers).json()
    assert page["next_cursor"] == second
    summary = httpx.get(f"{BASE}/api/analytics/summary", headers=staff.headers).json()
    assert summary["to"] == far_future[2]


def test_the_stream_pushes_new_results(far_future: list[str], staff: Account) -> None:
    start = far_future[2]
    received: list[str] = []

    def listen() -> None:
        with httpx.stream(
            "GET", f"{BASE}/api/analytics/stream", headers=staff.headers, timeout=30
        ) as response:
            for line in response.iter_lines():
                received.append(line)
                if start in line:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_for(lambda: received, timeout=10, what="the stream to open")
    publish("analytics-results", start, _window(start, start.replace(":02:", ":03:"), 1))
    listener.join(30)

    data = [line for line in received if line.startswith("data:") and start in line]
    assert data, received
    assert "event: analytics_window" in received
    assert json.loads(data[0].removeprefix("data: "))["window_start"] == start


def test_analytics_are_for_admins() -> None:
    customer = new_customer("peeker")
    for path in ("/api/analytics/windows", "/api/analytics/summary", "/api/analytics/stream"):
        assert httpx.get(f"{BASE}{path}").status_code == 401
        assert httpx.get(f"{BASE}{path}", headers=customer.headers).status_code == 403
    assert (
        httpx.get(
            f"{BASE}/api/analytics/windows?cursor=yesterday", headers=admin().headers
        ).status_code
        == 400
    )
