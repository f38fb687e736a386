"""Fault flags on the running stack (ADR 0020): each named fault switched through flagd, its
effect seen from outside, and the platform back once the flag is off.

The flags are switched as a person would (`cloudmart flags`, the same code), and reset after
every test whatever its outcome. Every test reports its figures (tests/faults.py).
"""

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cloudmart_cli.flags import reset_flags, set_flag
from tests.accounts import Account, admin, new_customer
from tests.faults import report
from tests.mailbox import messages_to
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url, stock_of, stopped, wait_for

PROBLEM = "application/problem+json"
# What the flags promise: a change reaches the services within this (ADR 0020).
TAKES_EFFECT_SECONDS = 5.0

SetFault = Callable[[str, str | int | bool], float]


@pytest.fixture
def fault() -> Iterator[SetFault]:
    """Switch a flag; returns the monotonic time it was written. All flags off afterwards."""

    def switch(name: str, value: str | int | bool) -> float:
        set_flag(name, value)
        return time.monotonic()

    reset_flags()
    try:
        yield switch
    finally:
        reset_flags()


def _gateway() -> httpx.Client:
    return httpx.Client(base_url=service_url("gateway"), timeout=60)


def triggers(service: str, fault: str) -> float:
    """How often `fault` acted in `service` (its fault_injections_total counter)."""
    metrics = httpx.get(f"{service_url(service)}/metrics", timeout=5).text
    found = re.search(
        rf'^fault_injections_total{{fault="{re.escape(fault)}"}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


def _checkout(http: httpx.Client, buyer: Account, product_id: int) -> tuple[int, dict[str, Any]]:
    response = place(http, buyer, order_body([(product_id, 1)]))
    body: dict[str, Any] = response.json()
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM, response.text
    return response.status_code, body


def _injected_decline(status: int, body: dict[str, Any]) -> bool:
    return status == 402 and body.get("decline_code") == "fault_injected"


def test_payment_failure_flag_declines_a_share_of_checkouts_and_leaks_no_stock(
    fault: SetFault,
) -> None:
    staff, buyer = admin(), new_customer("payfail")
    product = new_product(staff, stock=200)
    before = stock_of(product["id"])
    outcomes: list[tuple[int, dict[str, Any]]] = []
    with _gateway() as http:
        switched_at = fault("payment-failure-percent", 50)

        def declined_by_flag() -> tuple[int, dict[str, Any]] | None:
            outcome = _checkout(http, buyer, product["id"])
            outcomes.append(outcome)
            return outcome if _injected_decline(*outcome) else None

        first = wait_for(
            declined_by_flag, timeout=30, interval=0, what="a checkout declined by the flag"
        )
        effect_seconds = time.monotonic() - switched_at
        assert _injected_decline(*first)
        during = [_checkout(http, buyer, product["id"]) for _ in range(24)]
        outcomes += during

        reset_at = fault("payment-failure-percent", 0)
        after: list[tuple[float, int, dict[str, Any]]] = []
        while len(after) < 10 or any(s != 201 for _, s, _ in after[-10:]):
            assert time.monotonic() - reset_at < 60, "checkouts did not come back"
            status, body = _checkout(http, buyer, product["id"])
            after.append((time.monotonic() - reset_at, status, body))
        outcomes += [(status, body) for _, status, body in after]

    paid = sum(1 for status, _ in outcomes if status == 201)
    declined_during = [body for status, body in during if status == 402]
    late_declines = [at for at, status, _ in after if status != 201 and at > TAKES_EFFECT_SECONDS]

    def settled() -> int | None:
        stock = stock_of(product["id"])
        return stock if stock == before - paid else None

    # Compensation runs before a 402 is answered; the poll only tolerates a slow stock read.
    after_stock = wait_for(settled, timeout=30, what="stock = before - paid units") or 0
    report(
        "payment-failure-percent 50 (flag)",
        first_injected_decline_seconds=round(effect_seconds, 2),
        declined_while_on=f"{len(declined_during)}/{len(during)}",
        declines_after_reset=sum(1 for _, status, _ in after if status != 201),
        stock_before=before,
        stock_after=after_stock,
        paid_units=paid,
    )
    assert set(status for status, _ in outcomes) <= {201, 402}, outcomes
    assert all(body.get("decline_code") == "fault_injected" for body in declined_during)
    assert 3 <= len(declined_during) <= 21, f"{len(declined_during)} of 24 declined at 50 %"
    assert effect_seconds < 30
    assert late_declines == [], "declines went on after the flag was off"
    assert stock_of(product["id"]) == before - paid


def test_payment_unreachable_flag_fails_checkout_with_503_and_recovers(fault: SetFault) -> None:
    staff, buyer = admin(), new_customer("payunreach")
    product = new_product(staff, stock=20)
    statuses: list[int] = []

    def checkout_status() -> int:
        statuses.append(_checkout(http, buyer, product["id"])[0])
        return statuses[-1]

    with _gateway() as http:
        fault("payment-unreachable", True)
        wait_for(
            lambda: checkout_status() == 503,
            timeout=TAKES_EFFECT_SECONDS + 30,
            interval=0.5,
            what="payments to refuse charges",
        )
        started = time.monotonic()
        refused = [checkout_status() for _ in range(3)]
        seconds = (time.monotonic() - started) / 3
        reset_at = fault("payment-unreachable", False)
        wait_for(
            lambda: checkout_status() == 201,
            timeout=60,
            interval=1,
            what="checkout to work again",
        )
        recovery = time.monotonic() - reset_at
    paid = statuses.count(201)

    def released() -> bool:
        return stock_of(product["id"]) == 20 - paid

    wait_for(released, timeout=60, interval=1, what="every unpaid reservation released")
    report(
        "payment-unreachable (flag)",
        checkout_statuses=sorted(set(statuses)),
        refused_statuses=refused,
        mean_checkout_seconds=round(seconds, 2),
        recovery_seconds=round(recovery, 1),
    )
    assert refused == [503] * 3
    assert set(statuses) <= {201, 503}, statuses
    assert recovery < 30  # the flag, then orders' breaker to payments half-opening (10 s)


def test_product_catalog_failure_flag_fails_catalog_reads_and_recovers(fault: SetFault) -> None:
    staff = admin()
    product = new_product(staff, stock=5)
    path = f"/api/products/{product['id']}"
    with _gateway() as http:
        switched_at = fault("product-catalog-failure", True)
        wait_for(
            lambda: http.get(path).status_code == 503,
            timeout=TAKES_EFFECT_SECONDS,
            what="catalog reads to fail",
        )
        effect = time.monotonic() - switched_at
        reads = [http.get(path), http.get("/api/products", params={"limit": 5})]
        reads.append(http.get("/api/products/categories"))
        reset_at = fault("product-catalog-failure", False)
        wait_for(
            lambda: http.get(path).status_code == 200,
            timeout=TAKES_EFFECT_SECONDS + 15,
            what="catalog reads to work again",
        )
        recovery = time.monotonic() - reset_at
        listing = http.get("/api/products", params={"limit": 5})
    report(
        "product-catalog-failure (flag)",
        effect_seconds=round(effect, 2),
        read_statuses=[r.status_code for r in reads],
        recovery_seconds=round(recovery, 2),
    )
    assert [r.status_code for r in reads] == [503, 503, 503]
    assert all(r.headers["content-type"] == PROBLEM for r in reads)
    assert listing.status_code == 200
    assert stock_of(product["id"]) == 5


def test_slow_dynamodb_flag_delays_every_dynamodb_call_and_recovers(fault: SetFault) -> None:
    products = httpx.Client(base_url=service_url("products"), timeout=30)

    def lookup_seconds() -> float:
        # One DynamoDB query (the SKU index), never cached: an unknown SKU each time.
        started = time.monotonic()
        response = products.get(f"/api/products/sku/NONE-{uuid.uuid4().hex[:10].upper()}")
        assert response.status_code == 404, response.text
        return time.monotonic() - started

    with products:
        baseline = min(lookup_seconds() for _ in range(3))
        fault("slow-dynamodb-ms", 1200)
        wait_for(
            lambda: lookup_seconds() >= 1.2,
            timeout=TAKES_EFFECT_SECONDS + 10,
            interval=0.2,
            what="DynamoDB calls to be slow",
        )
        slow = lookup_seconds()
        triggered = triggers("products", "slow-dynamodb-ms")
        fault("slow-dynamodb-ms", 0)
        wait_for(
            lambda: lookup_seconds() < 1.0,
            timeout=TAKES_EFFECT_SECONDS + 5,
            what="DynamoDB calls to be fast again",
        )
        recovered = min(lookup_seconds() for _ in range(3))
    report(
        "slow-dynamodb-ms 1200 (flag)",
        baseline_seconds=round(baseline, 3),
        slow_seconds=round(slow, 3),
        recovered_seconds=round(recovered, 3),
    )
    assert slow >= 1.2
    assert triggered > 0  # the flag acted, not some other slowness
    assert recovered < 1.0


def test_kafka_consumer_stall_flag_holds_emails_until_it_is_off(fault: SetFault) -> None:
    staff, buyer = admin(), new_customer("stall")
    product = new_product(staff, stock=5)
    address = f"{buyer.username}@example.com"
    before = triggers("notifications", "kafka-consumer-stall")
    fault("kafka-consumer-stall", True)
    wait_for(
        lambda: triggers("notifications", "kafka-consumer-stall") > before,
        timeout=TAKES_EFFECT_SECONDS,
        what="the consumer to stall",
    )
    with _gateway() as http:
        assert _checkout(http, buyer, product["id"])[0] == 201
    # Held long enough that a running consumer would have sent both emails (about a second).
    held_until = time.monotonic() + 8
    while time.monotonic() < held_until:
        assert messages_to(address) == [], "an email went out while the consumer was stalled"
        time.sleep(1)
    reset_at = fault("kafka-consumer-stall", False)
    wait_for(
        lambda: len(messages_to(address)) >= 2,
        timeout=60,
        interval=0.5,
        what="the held emails after the stall",
    )
    released = time.monotonic() - reset_at
    report(
        "kafka-consumer-stall (flag)",
        emails_while_stalled=0,
        held_seconds=8,
        delivered_after_seconds=round(released, 1),
    )
    assert released < 30


def test_notification_channel_down_flag_fails_sends_as_an_smtp_outage(fault: SetFault) -> None:
    staff = admin()
    address = f"channel{uuid.uuid4().hex[:8]}@example.com"
    notifications = httpx.Client(base_url=service_url("notifications"), timeout=30)

    accepted = 0

    def send() -> httpx.Response:
        nonlocal accepted
        response = notifications.post(
            "/api/notifications/send",
            json={"recipient": address, "subject": "Fault flag test", "message": "Hello"},
            headers=staff.headers,
        )
        accepted += response.status_code == 201
        return response

    with notifications:
        switched_at = fault("notification-channel-down", True)
        down = wait_for(
            lambda: r if (r := send()).status_code == 503 else None,
            timeout=TAKES_EFFECT_SECONDS,
            what="the email channel to fail",
        )
        effect = time.monotonic() - switched_at
        reset_at = fault("notification-channel-down", False)
        up = wait_for(
            lambda: r if (r := send()).status_code == 201 else None,
            timeout=TAKES_EFFECT_SECONDS,
            what="the email channel to work again",
        )
        recovery = time.monotonic() - reset_at
    delivered = wait_for(
        lambda: found if len(found := messages_to(address)) >= accepted else None,
        timeout=30,
        what="every accepted email",
    )
    report(
        "notification-channel-down (flag)",
        effect_seconds=round(effect, 2),
        status_while_down=down.status_code,
        recovery_seconds=round(recovery, 2),
        emails_delivered=len(delivered),
    )
    assert down.headers["content-type"] == PROBLEM
    assert up.status_code == 201
    # Only what was accepted (before the flag arrived, after it was off) reached the mailbox.
    assert len(delivered) == accepted


def test_a_flagd_outage_changes_nothing_and_flags_follow_once_it_is_back(
    fault: SetFault,
) -> None:
    staff = admin()
    product = new_product(staff, stock=5)
    products = httpx.Client(base_url=service_url("products"), timeout=30)
    path = f"/api/products/{product['id']}"
    with products:
        with stopped("flagd"):
            reads_without_flagd = [products.get(path).status_code for _ in range(3)]
            # Switched while nobody serves it: the services keep the flag set they had.
            fault("product-catalog-failure", True)
            time.sleep(TAKES_EFFECT_SECONDS)  # long enough for a change to have arrived
            reads_while_switched = [products.get(path).status_code for _ in range(3)]
            back_at = time.monotonic()
        wait_for(
            lambda: products.get(path).status_code == 503,
            timeout=TAKES_EFFECT_SECONDS + 10,
            what="the flag to arrive once flagd is back",
        )
        followed = time.monotonic() - back_at
    report(
        "flagd stopped (flag source outage)",
        reads_without_flagd=reads_without_flagd,
        reads_after_a_change_flagd_did_not_serve=reads_while_switched,
        flag_followed_seconds_after_restart=round(followed, 1),
    )
    assert reads_without_flagd == [200] * 3
    assert reads_while_switched == [200] * 3
