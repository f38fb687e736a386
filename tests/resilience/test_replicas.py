"""Two replicas of every Python service (`make up REPLICAS=2`): the gateway spreads checkouts
over both orders processes, and a `kill -9` of one of them mid-load loses and doubles nothing.

The module scales the running stack to two replicas and back to one (the other suites run
against one); each run of `up` starts only what is missing and restarts what changed.
"""

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloudmart_local.layout import ROOT, active_profile, active_replicas, replica_port
from tests.accounts import admin, new_customer
from tests.faults import Attempt, report, steady_checkouts, toxic
from tests.mailbox import messages_to
from tests.shop import new_product
from tests.stack_control import (
    killed,
    query,
    stock_of,
    stripe_count,
    topic_events,
    wait_for,
)


def _up(replicas: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudmart_local",
            "up",
            "--profile",
            active_profile(),
            "--replicas",
            str(replicas),
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )


@pytest.fixture(scope="module", autouse=True)
def two_replicas() -> Iterator[None]:
    before = active_replicas()
    _up(2)
    try:
        yield
    finally:
        _up(before)


def _checkouts_answered(replica: int) -> int:
    """POST /api/orders answered 201 by one orders process, from its own /metrics."""
    text = httpx.get(f"http://127.0.0.1:{replica_port('orders', replica)}/metrics", timeout=10).text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "http_requests"
            for sample in family.samples
            if sample.name == "http_requests_total"
            and sample.labels.get("method") == "POST"
            and sample.labels.get("route") == "/api/orders"
            and sample.labels.get("status") == "201"
        )
    )


def test_kill_9_of_one_orders_replica_under_checkout_load_loses_and_doubles_nothing() -> None:
    staff = admin()
    product = new_product(staff, stock=1000)
    buyers = [new_customer("replicas") for _ in range(30)]
    before = {replica: _checkouts_answered(replica) for replica in (1, 2)}
    charges_before = stripe_count("charges")

    attempts: list[Attempt] = []
    load = threading.Thread(
        target=lambda: attempts.extend(
            steady_checkouts(buyers, product["id"], per_second=3, seconds=30, retry_for=150)
        )
    )
    # The first replica's calls to products cross Toxiproxy: slowed there, a few of its
    # checkouts are always mid-saga, and the kill cuts them.
    with toxic("orders-products", "latency", latency=1500):
        load.start()
        time.sleep(10)
        spread = {replica: _checkouts_answered(replica) - before[replica] for replica in (1, 2)}
        killed_at = time.monotonic()
        with killed("orders"):  # SIGKILL: no graceful shutdown, requests cut mid-way
            pass
        away = time.monotonic() - killed_at
        time.sleep(5)
    load.join()
    after_restart = _checkouts_answered(1)  # the restarted process counts from zero

    acknowledged = [a for a in attempts if a.status == 201]
    ids = [a.order_id for a in acknowledged if a.order_id is not None]
    rows = query(
        "orders",
        "SELECT id, status, user_id, idempotency_key FROM orders WHERE id = ANY($1::bigint[])",
        ids,
    )
    buyer_ids = sorted({row["user_id"] for row in rows})
    # A checkout the kill cut mid-saga is undone (by recovery, or by the retry that found it)
    # and placed anew under the same key: one live order per key, the undone one uncharged.
    per_key = query(
        "orders",
        "SELECT count(*) FILTER (WHERE status <> 'cancelled') AS live,"
        " array_agg(id) FILTER (WHERE status = 'cancelled') AS undone"
        " FROM orders WHERE user_id = ANY($1::bigint[]) GROUP BY user_id, idempotency_key",
        buyer_ids,
    )
    undone = [order_id for row in per_key for order_id in row["undone"] or ()]
    payments = query(
        "payments",
        "SELECT order_id, status FROM payments WHERE order_id = ANY($1::bigint[])",
        ids + undone,
    )

    def every_event() -> list[dict[str, Any]] | None:
        events = [
            e
            for e in topic_events("orders")
            if e.get("order_id") in set(ids) and e["event_type"] in ("order_created", "order_paid")
        ]
        found = {(e["order_id"], e["event_type"]) for e in events}
        return events if len(found) >= 2 * len(ids) else None

    events = wait_for(every_event, timeout=120, interval=3, what="every order's two events")

    def emails_by_order() -> dict[int, int] | None:
        """Emails naming each order (its confirmation and its payment receipt)."""
        counts = dict.fromkeys(ids, 0)
        for buyer in buyers:
            for message in messages_to(f"{buyer.username}@example.com"):
                named = re.search(r"#(\d+)\b", message["Subject"])
                if named and int(named[1]) in counts:
                    counts[int(named[1])] += 1
        return counts if all(n >= 2 for n in counts.values()) else None

    emails = wait_for(emails_by_order, timeout=180, interval=5, what="two emails per order")
    time.sleep(5)  # anything sent twice would land by now
    emails = emails_by_order() or emails
    charges = stripe_count("charges") - charges_before

    report(
        "two replicas, kill -9 of one orders process under checkout load",
        checkouts=len(attempts),
        acknowledged=len(acknowledged),
        cut_by_the_kill_undone_and_placed_again=len(undone),
        retried=sum(a.tries > 1 for a in attempts),
        longest_wait_seconds=round(max(a.seconds for a in attempts), 1),
        killed_replica_back_after_seconds=round(away, 1),
        answered_before_the_kill=f"orders {spread[1]}, orders-2 {spread[2]}",
        answered_by_orders_after_its_restart=after_restart,
        acknowledged_but_missing=len(ids) - len(rows),
        keys_with_two_live_orders=sum(row["live"] > 1 for row in per_key),
        charges=charges,
        events_lost=2 * len(ids) - len({(e["order_id"], e["event_type"]) for e in events}),
        duplicate_events=len(events) - len({e["event_id"] for e in events}),
        emails_missing=sum(max(0, 2 - n) for n in emails.values()),
        duplicate_emails=sum(max(0, n - 2) for n in emails.values()),
    )
    unanswered = [(a.status, a.problem) for a in attempts if a.status != 201]
    assert unanswered == [], "checkouts without a final answer"
    assert len(set(ids)) == len(ids)
    assert {row["id"] for row in rows} == set(ids)
    assert all(row["status"] in ("processing", "shipped", "delivered") for row in rows)
    assert [row["live"] for row in per_key] == [1] * len(ids)
    charged = sorted(p["order_id"] for p in payments if p["status"] == "succeeded")
    assert charged == sorted(ids)  # every acknowledged order once, no undone one
    assert charges == len(ids)  # the cancelled ones were never charged
    assert len({(e["order_id"], e["event_type"]) for e in events}) == 2 * len(ids)
    assert len(events) == len({e["event_id"] for e in events})
    assert set(emails.values()) == {2}
    wait_for(
        lambda: stock_of(product["id"]) == 1000 - len(ids),
        timeout=60,
        what="stock to be the initial stock minus what was bought",
    )
    assert min(spread.values()) > 0, f"the gateway did not spread: {spread}"
    assert after_restart > 0, "the restarted replica got no checkout back"
