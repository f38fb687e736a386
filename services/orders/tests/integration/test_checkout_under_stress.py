"""Checkout when it is hard: a stampede on the last units, a dead upstream, Kafka gone."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.accounts import Account, new_customer
from tests.shop import new_product, order_body, place
from tests.stack_control import (
    query,
    service_url,
    stock_of,
    stopped,
    stripe_count,
    topic_events,
    wait_for,
)


def test_a_hundred_buyers_for_the_last_ten_units(http: httpx.Client, staff: Account) -> None:
    product = new_product(staff, stock=10, price=99)
    buyers = [new_customer("rush") for _ in range(10)]
    # Payment methods first, so the stampede is only checkouts.
    bodies = [(buyers[i % 10], order_body([(product["id"], 1)])) for i in range(100)]
    charges_before = stripe_count("charges")

    def checkout(job: tuple[Account, dict[str, object]]) -> httpx.Response:
        with httpx.Client(base_url=service_url("orders"), timeout=120) as client:
            return place(client, *job)

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(checkout, bodies))

    outcomes = Counter(r.status_code for r in responses)
    print(f"\n100 concurrent checkouts for 10 units: {dict(outcomes)}")
    assert outcomes == {201: 10, 409: 90}, [r.text for r in responses if r.status_code >= 500]
    assert all(
        r.json()["type"].endswith("/out-of-stock") for r in responses if r.status_code == 409
    )
    assert stock_of(product["id"]) == 0
    assert stripe_count("charges") == charges_before + 10
    rows = query(
        "orders",
        "SELECT o.status, count(*) AS n FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE i.product_id = $1 GROUP BY o.status",
        product["id"],
    )
    assert {row["status"]: row["n"] for row in rows} == {"processing": 10, "cancelled": 90}


def test_with_the_products_service_down_checkout_is_a_503_and_nothing_is_held(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=5)
    body, key = order_body([(product["id"], 2)]), uuid.uuid4().hex
    intents_before = stripe_count("payment_intents")

    with stopped("products"):
        down = place(http, buyer, body, key)

    assert down.status_code == 503, down.text
    assert down.json()["type"].endswith("/upstream-unavailable")
    assert stock_of(product["id"]) == 5
    assert stripe_count("payment_intents") == intents_before
    held = query("orders", "SELECT id FROM orders WHERE idempotency_key = $1", key)
    assert held == []
    # The same key works once products is back: a 503 is never stored as the answer.
    again = place(http, buyer, body, key)
    assert again.status_code == 201, again.text
    assert stock_of(product["id"]) == 3


def test_orders_placed_while_kafka_is_down_are_published_once_it_returns(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=60, price=5)
    bodies = [order_body([(product["id"], 1)]) for _ in range(50)]

    with stopped("kafka"):
        placed = [place(http, buyer, body) for body in bodies]
        assert {r.status_code for r in placed} == {201}, placed[0].text
        ids = {r.json()["id"] for r in placed}
        unsent = query(
            "orders",
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL "
            "AND (payload->>'order_id')::bigint = ANY($1::bigint[])",
            list(ids),
        )[0]["n"]
        assert unsent == 100  # order_created + order_paid for each, kept in the outbox

    def published() -> list[dict[str, object]] | None:
        events = [e for e in topic_events("orders") if e.get("order_id") in ids]
        return events if len(events) >= 100 else None

    events = wait_for(published, timeout=120, interval=2, what="100 order events on Kafka")
    print(f"\n50 orders during a Kafka outage: {len(events)} events published after it")
    assert len(events) == 100
    assert len({e["event_id"] for e in events}) == 100
    per_order = Counter((e["order_id"], e["event_type"]) for e in events)
    assert set(per_order.values()) == {1}
    assert {t for _, t in per_order} == {"order_created", "order_paid"}
