"""Orders placed through the gateway come out of the Flink job, aggregated, and reach the
dashboard within a window, the watermark delay and a checkpoint."""

import time
from typing import Any

import httpx

from cloudmart_common.events import validate_event
from cloudmart_local.layout import ANALYTICS_WINDOW_SECONDS
from tests.accounts import admin, new_customer
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url, topic_events, wait_for

GATEWAY = service_url("gateway")


def _window_with(product: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any] | None:
    # By name: the emulator restarts product ids with the stack, older windows reuse them.
    for event in events:
        for top in event.get("top_products", []):
            if top["product_name"] == product["name"]:
                return event
    return None


def test_orders_appear_aggregated_in_analytics_results_and_the_dashboard() -> None:
    staff, buyer = admin(), new_customer("analyst")
    product = new_product(staff, stock=100, price=7.25)
    with httpx.Client(base_url=GATEWAY, timeout=60) as http:
        placed = [place(http, buyer, order_body([(product["id"], 9)])) for _ in range(2)]
        assert [p.status_code for p in placed] == [201, 201], placed[0].text
        started = time.monotonic()
        # The window closes once event time passes its end plus the out-of-orderness bound;
        # later orders move event time on (idle partitions do not hold it back).
        time.sleep(ANALYTICS_WINDOW_SECONDS + 6)
        filler = new_product(staff, stock=100, price=1)
        place(http, buyer, order_body([(filler["id"], 1)]))

        on_kafka = wait_for(
            lambda: _window_with(product, topic_events("analytics-results", "analytics_window")),
            timeout=ANALYTICS_WINDOW_SECONDS + 60,
            interval=2,
            what="the window of our orders on analytics-results",
        )
        latency = time.monotonic() - started

        def on_dashboard() -> dict[str, Any] | None:
            items = http.get("/api/analytics/windows?limit=50", headers=staff.headers).json()
            return _window_with(product, items["items"])

        shown = wait_for(on_dashboard, timeout=30, what="the window on the dashboard API")

    print(
        f"\norders -> analytics-results in {latency:.1f} s after placing (window "
        f"{ANALYTICS_WINDOW_SECONDS} s)"
    )
    validate_event(on_kafka, require_schema=True)
    ours = next(p for p in on_kafka["top_products"] if p["product_name"] == product["name"])
    assert ours["quantity"] == 18
    assert ours["revenue"] == 130.5
    assert on_kafka["order_count"] >= 2
    assert on_kafka["by_region"]["us-east"]["order_count"] >= 2
    assert shown["window_start"] == on_kafka["window_start"]
    summary = httpx.get(f"{GATEWAY}/api/analytics/summary", headers=staff.headers).json()
    assert summary["windows"] >= 1
    customer = httpx.get(f"{GATEWAY}/api/analytics/windows", headers=buyer.headers)
    assert customer.status_code == 403
