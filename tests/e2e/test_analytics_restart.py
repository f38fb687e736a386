"""The Flink job killed and restored from its last checkpoint: every window once, none lost."""

import time
from collections import Counter
from typing import Any

import httpx

from cloudmart_local.layout import ANALYTICS_WINDOW_SECONDS
from tests.accounts import Account, admin, new_customer
from tests.faults import report
from tests.shop import new_product, order_body, place
from tests.stack_control import killed, service_url, topic_events, wait_for


def _windows_of(product: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        window
        for window in topic_events("analytics-results", "analytics_window")
        if any(top["product_name"] == product["name"] for top in window.get("top_products", []))
    ]


def _quantity_in_windows(product: dict[str, Any]) -> int:
    """Orders placed a moment apart may straddle a window boundary: count across windows."""
    return sum(
        top["quantity"]
        for window in _windows_of(product)
        for top in window["top_products"]
        if top["product_name"] == product["name"]
    )


def _close_windows(http: httpx.Client, staff: Account, buyer: Account) -> None:
    """Event time moves on only with newer events: one order after the window's end."""
    time.sleep(ANALYTICS_WINDOW_SECONDS + 6)
    filler = new_product(staff, stock=10, price=1)
    place(http, buyer, order_body([(filler["id"], 1)]))


def test_a_killed_job_resumes_from_its_checkpoint_without_loss_or_duplicates() -> None:
    staff, buyer = admin(), new_customer("restart")
    before, during = new_product(staff, price=3), new_product(staff, price=4)
    started_at = time.time()
    with httpx.Client(base_url=service_url("gateway"), timeout=60) as http:
        for _ in range(2):
            assert place(http, buyer, order_body([(before["id"], 2)])).status_code == 201
        _close_windows(http, staff, buyer)
        wait_for(
            lambda: _quantity_in_windows(before) == 4,
            timeout=90,
            interval=2,
            what="the first window",
        )

        with killed("analytics"):  # SIGKILL: no savepoint, no clean shutdown
            for _ in range(3):
                assert place(http, buyer, order_body([(during["id"], 5)])).status_code == 201
        _close_windows(http, staff, buyer)
        wait_for(
            lambda: _quantity_in_windows(during) >= 15,
            timeout=120,
            interval=2,
            what="the windows after restart",
        )

    assert _quantity_in_windows(before) == 4
    assert _quantity_in_windows(during) == 15  # all three orders placed while the job was down
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started_at - 60))
    # Windows emitted during this test: those of earlier runs of the suite stay out (tests that
    # publish events dated in later years make windows that recur from run to run).
    recent = [
        w["window_start"]
        for w in topic_events("analytics-results", "analytics_window")
        if w["window_start"] >= since and w["timestamp"] >= since
    ]
    duplicates = {start: n for start, n in Counter(recent).items() if n > 1}
    report(
        "Flink job SIGKILLed, restored from its checkpoint",
        units_before=_quantity_in_windows(before),
        units_ordered_while_down=15,
        units_counted_after_restore=_quantity_in_windows(during),
        windows=len(recent),
        windows_emitted_twice=len(duplicates),
    )
    assert duplicates == {}
