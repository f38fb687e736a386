"""Orders placed through the gateway come out of the Flink job, aggregated, and reach the
dashboard within a window, the watermark delay and a checkpoint: revenue is what was paid (a
declined checkout is an order, never revenue), gross order value every order created, and the
trending products slide over the windows (analytics/README.md)."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cloudmart_common.events import validate_event
from cloudmart_local.layout import ANALYTICS_WINDOW_SECONDS
from cloudmart_local.shop import DECLINED_CARD
from tests.accounts import admin, new_customer
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url, topic_events, wait_for

GATEWAY = service_url("gateway")
W = ANALYTICS_WINDOW_SECONDS
# The job's trending windows when it is given only the window size (analytics/README.md):
# three windows long, one starting with each window.
TRENDING_SECONDS = 3 * W
OUT_OF_ORDERNESS_SECONDS = 5  # the local job's (cloudmart_local.components)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _millis(iso: str) -> int:
    """Epoch milliseconds, truncated as the job reads timestamps (no float rounding)."""
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ours(product: dict[str, Any], products: list[dict[str, Any]]) -> dict[str, Any] | None:
    # By name: the emulator restarts product ids with the stack, older windows reuse them.
    return next((p for p in products if p["product_name"] == product["name"]), None)


def _windows_with(product: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if _ours(product, e.get("top_products", []))]


def _sold(product: dict[str, Any], windows: list[dict[str, Any]]) -> tuple[int, float]:
    """Our product's units and revenue added up over windows: orders placed a moment apart
    may straddle a window boundary."""
    ours = [p for w in windows if (p := _ours(product, w["top_products"])) is not None]
    return sum(p["quantity"] for p in ours), round(sum(p["revenue"] for p in ours), 2)


def _window_start(iso: str) -> str:
    return _iso(_millis(iso) // 1000 // W * W)


def _trending_with(product: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if _ours(product, e.get("products", []))]


def _recount(
    orders: list[dict[str, Any]], start: str, late: set[tuple[str, int, int]]
) -> dict[str, float]:
    """A tumbling window's figures recounted from the order events whose timestamp falls in
    it (those the job reported late excepted), as analytics/README.md defines them."""
    begin = _millis(start)
    end = begin + W * 1000
    found: dict[str, list[float]] = {"created": [], "paid": [], "refunded": []}
    for event in orders:
        kind, stamp = event.get("event_type"), event.get("timestamp")
        if not isinstance(kind, str) or not isinstance(stamp, str):
            continue  # the job skips these too
        try:
            at, amount = _millis(stamp), float(event.get("total_amount", 0))
        except (TypeError, ValueError):
            continue  # poison (a replayed dead letter): skipped there too, or outside our windows
        if not begin <= at < end or (kind, event.get("order_id"), at) in late:
            continue
        if kind == "order_created":
            found["created"].append(amount)
        elif kind == "order_paid":
            found["paid"].append(amount)
        elif kind == "order_cancelled" and event.get("previous_status") == "processing":
            found["refunded"].append(amount)
    return {
        "order_count": len(found["created"]),
        "gross_order_value": sum(found["created"]),
        "paid_order_count": len(found["paid"]),
        "revenue": sum(found["paid"]) - sum(found["refunded"]),
        "refunds": sum(found["refunded"]),
    }


def test_orders_appear_aggregated_in_analytics_results_and_the_dashboard() -> None:
    staff, buyer = admin(), new_customer("analyst")
    product = new_product(staff, stock=100, price=7.25)
    # The trending window that starts with the window of our first order holds them all:
    # they are placed in far less than two windows' time.
    trending_start = int(time.time()) // W * W
    with httpx.Client(base_url=GATEWAY, timeout=60) as http:
        placed = [place(http, buyer, order_body([(product["id"], 9)])) for _ in range(2)]
        declined = place(http, buyer, order_body([(product["id"], 4)], DECLINED_CARD))
        assert [p.status_code for p in placed] == [201, 201], placed[0].text
        assert declined.status_code == 402, declined.text
        declined_id = declined.json()["order_id"]
        started = time.monotonic()
        # Event time moves on only with newer orders (idle partitions do not hold it back):
        # one placed once that trending window has ended, plus the out-of-orderness bound,
        # closes it and every tumbling window of ours.
        close_at = trending_start + TRENDING_SECONDS + OUT_OF_ORDERNESS_SECONDS + 2
        time.sleep(max(0.0, close_at - time.time()))
        filler = new_product(staff, stock=100, price=1)
        place(http, buyer, order_body([(filler["id"], 1)]))

        def on_kafka_all() -> list[dict[str, Any]] | None:
            events = topic_events("analytics-results", "analytics_window")
            windows = _windows_with(product, events)
            return windows if _sold(product, windows)[0] >= 18 else None

        on_kafka = wait_for(
            on_kafka_all,
            timeout=W + 60,
            interval=2,
            what="the windows of our orders on analytics-results",
        )
        latency = time.monotonic() - started
        trending = wait_for(
            lambda: [
                t
                for t in _trending_with(
                    product, topic_events("analytics-results", "trending_products")
                )
                if t["window_start"] == _iso(trending_start)
            ],
            timeout=30,
            interval=2,
            what="the trending window of our orders on analytics-results",
        )[0]

        # Every window holding an event of our orders (the declined one's too).
        ours = {p.json()["id"] for p in placed} | {declined_id}
        orders = topic_events("orders")
        our_events = [e for e in orders if e.get("order_id") in ours]
        starts = {_window_start(e["timestamp"]) for e in our_events}

        def on_dashboard() -> dict[str, dict[str, Any]] | None:
            items = http.get("/api/analytics/windows?limit=50", headers=staff.headers).json()
            by_start = {w["window_start"]: w for w in items["items"]}
            return by_start if starts <= set(by_start) else None

        shown = wait_for(on_dashboard, timeout=30, what="the windows on the dashboard API")

        def trending_on_dashboard() -> dict[str, Any] | None:
            answer = http.get("/api/analytics/trending", headers=staff.headers)
            latest: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
            return latest if latest and latest["window_start"] == _iso(trending_start) else None

        served = wait_for(trending_on_dashboard, timeout=30, what="the trending products served")

    print(
        f"\norders -> analytics-results in {latency:.1f} s after placing (window {W} s, "
        f"trending {TRENDING_SECONDS} s)"
    )
    for window in on_kafka:
        validate_event(window, require_schema=True)
        assert window["event_version"] == 2
    # Our product's units and revenue are what was paid: the declined 4 units count nowhere.
    assert _sold(product, on_kafka) == (18, 130.5)
    assert {w["window_start"] for w in on_kafka} <= set(shown)

    # The declined checkout: an order created, then cancelled unpaid (no refund to subtract).
    declined_events = {e["event_type"]: e for e in our_events if e["order_id"] == declined_id}
    assert set(declined_events) == {"order_created", "order_cancelled"}
    assert declined_events["order_cancelled"]["previous_status"] == "pending"
    # Every window holding one of our orders' events, as served through the gateway, equals
    # its recount from the orders topic: the declined order is in order_count and
    # gross_order_value, and in no revenue.
    late = {
        (e["order_event_type"], e["order_id"], _millis(e["event_timestamp"]))
        for e in topic_events("analytics-results", "late_event")
    }
    for start in sorted(starts):
        window, expected = shown[start], _recount(orders, start, late)
        assert window["order_count"] == expected["order_count"], start
        assert window["paid_order_count"] == expected["paid_order_count"], start
        for money in ("gross_order_value", "revenue", "refunds"):
            assert window[money] == pytest.approx(expected[money], abs=0.011), (start, money)
    created_in = _window_start(declined_events["order_created"]["timestamp"])
    assert shown[created_in]["gross_order_value"] >= 29.0  # 4 x 7.25, declined

    # Trending: the window holding all our orders ranks our product by what was paid; the
    # window before it, overlapping it by two windows, holds our first order too.
    validate_event(trending, require_schema=True)
    assert (trending["window_seconds"], trending["slide_seconds"]) == (TRENDING_SECONDS, W)
    assert _ours(product, trending["products"]) == _ours(product, served["products"])
    ranked = _ours(product, trending["products"])
    assert ranked is not None
    assert (ranked["quantity"], ranked["revenue"]) == (18, 130.5)
    ranks = [p["rank"] for p in trending["products"]]
    assert ranks == list(range(1, len(ranks) + 1))
    holding = {
        t["window_start"]
        for t in _trending_with(product, topic_events("analytics-results", "trending_products"))
    }
    assert {_iso(trending_start - W), _iso(trending_start)} <= holding

    summary = httpx.get(f"{GATEWAY}/api/analytics/summary", headers=staff.headers).json()
    assert summary["windows"] >= 1
    assert summary["gross_order_value"] >= 0
    assert summary["paid_order_count"] >= 2
    for path in ("/api/analytics/windows", "/api/analytics/trending"):
        assert httpx.get(f"{GATEWAY}{path}", headers=buyer.headers).status_code == 403
