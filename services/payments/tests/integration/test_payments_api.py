"""The payments service as the orders service and admins see it: :5005, PostgreSQL, localstripe."""

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import stripe

from cloudmart_cli.flags import reset_flags, set_flag
from cloudmart_common.events import validate_event
from cloudmart_local.layout import LOCALSTRIPE_PORT
from cloudmart_local.shop import DECLINED_CARD
from cloudmart_payments.settings import Settings
from tests.accounts import Account, admin, new_customer, service_headers
from tests.stack_control import card, query, service_url, stopped, stripe_client, stripe_count

BASE = service_url("payments")
STRIPE = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"


@pytest.fixture(scope="module")
def http() -> httpx.Client:
    return httpx.Client(base_url=BASE, timeout=30)


@pytest.fixture(scope="module")
def orders() -> dict[str, str]:
    return service_headers("orders")


@pytest.fixture(scope="module")
def buyer() -> Account:
    return new_customer("payer")


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


def _order_id() -> int:
    # Orders' ids are the orders service's; any unused one will do here.
    return random.randint(10**9, 2**62)


def _charge(
    http: httpx.Client,
    headers: dict[str, str],
    buyer: Account,
    *,
    payment_method: str | None = None,
    key: str | None = None,
    **overrides: Any,
) -> httpx.Response:
    body = {
        "order_id": _order_id(),
        "user_id": buyer.user_id,
        "amount": 49.99,
        "currency": "USD",
        "payment_method": payment_method or card(),
    } | overrides
    return http.post(
        "/api/payments/process",
        json=body,
        headers=headers | {"Idempotency-Key": key or uuid.uuid4().hex},
    )


def _outbox(payment_id: int) -> list[dict[str, Any]]:
    return query(
        "payments",
        "SELECT event_type, payload::text AS payload, created_at FROM outbox "
        "WHERE (payload->>'payment_id')::bigint = $1 ORDER BY id",
        payment_id,
    )


def _charges_of(intent_id: str) -> int:
    # localstripe embeds an intent's charges (as Stripe's older API versions did).
    response = httpx.get(
        f"{STRIPE}/v1/payment_intents/{intent_id}", auth=("sk_test_local", ""), timeout=10
    )
    return len(response.json()["charges"]["data"])


# -- charging ------------------------------------------------------------------------------


def test_a_good_card_is_charged_and_the_event_commits_with_the_row(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    response = _charge(http, orders, buyer)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["amount"] == 49.99
    assert payment["refunded_amount"] == 0
    assert payment["transaction_id"].startswith("pi_")
    assert response.headers["Idempotent-Replayed"] == "false"
    intent = stripe_client().v1.payment_intents.retrieve(payment["transaction_id"])
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 4999, "usd")
    # now() is the transaction's start, to the microsecond: the event and the settled row
    # were written by one transaction.
    row = query("payments", "SELECT updated_at FROM payments WHERE id = $1", payment["id"])[0]
    events = _outbox(payment["id"])
    assert [e["event_type"] for e in events] == ["payment_succeeded"]
    assert events[0]["created_at"] == row["updated_at"]
    event = validate_event(json.loads(events[0]["payload"]), require_schema=True)
    assert event["order_id"] == payment["order_id"]
    assert event["amount"] == 49.99


def test_a_declined_card_is_a_402_with_the_reason_and_a_failed_row(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    response = _charge(http, orders, buyer, payment_method=card(DECLINED_CARD))

    assert response.status_code == 402, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["decline_code"] == "card_declined"
    assert "declined" in problem["detail"].lower()
    assert problem["request_id"]
    payment = http.get(f"/api/payments/{problem['payment_id']}", headers=orders).json()
    assert payment["status"] == "failed"
    assert payment["failure_code"] == "card_declined"
    events = _outbox(payment["id"])
    assert [e["event_type"] for e in events] == ["payment_failed"]
    validate_event(json.loads(events[0]["payload"]), require_schema=True)


def test_an_unknown_payment_method_fails_the_payment_cleanly(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    response = _charge(http, orders, buyer, payment_method="pm_doesnotexist")

    assert response.status_code == 402, response.text
    payment = http.get(f"/api/payments/{response.json()['payment_id']}", headers=orders).json()
    assert payment["status"] == "failed"


def test_the_same_key_and_body_replay_the_first_answer(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    body = {
        "order_id": _order_id(),
        "user_id": buyer.user_id,
        "amount": 12.5,
        "currency": "EUR",
        "payment_method": card(),
    }
    headers = orders | {"Idempotency-Key": uuid.uuid4().hex}
    intents_before = stripe_count("payment_intents")
    first = http.post("/api/payments/process", json=body, headers=headers)
    again = http.post("/api/payments/process", json=body, headers=headers)
    other = http.post("/api/payments/process", json=body | {"amount": 13}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422, other.text
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert stripe_count("payment_intents") == intents_before + 1


def test_a_declined_answer_is_replayed_too(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    method = card(DECLINED_CARD)
    key = uuid.uuid4().hex
    order_id = _order_id()
    first = _charge(http, orders, buyer, payment_method=method, key=key, order_id=order_id)
    again = _charge(http, orders, buyer, payment_method=method, key=key, order_id=order_id)

    assert first.status_code == again.status_code == 402
    assert again.json()["payment_id"] == first.json()["payment_id"]
    assert again.headers["Idempotent-Replayed"] == "true"


def test_twenty_concurrent_requests_with_one_key_charge_once(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    order_id, key, method = _order_id(), uuid.uuid4().hex, card()
    intents_before, charges_before = stripe_count("payment_intents"), stripe_count("charges")

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            return _charge(client, orders, buyer, payment_method=method, key=key, order_id=order_id)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers["Idempotent-Replayed"] == "false" for r in responses) == 1
    rows = query("payments", "SELECT id FROM payments WHERE order_id = $1", order_id)
    assert len(rows) == 1
    assert stripe_count("payment_intents") == intents_before + 1
    assert stripe_count("charges") == charges_before + 1
    assert _charges_of(responses[0].json()["transaction_id"]) == 1


def test_an_order_is_charged_once_whatever_key_the_retry_carries(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    order_id, method = _order_id(), card()
    intents_before = stripe_count("payment_intents")
    first = _charge(http, orders, buyer, payment_method=method, order_id=order_id)
    retry = _charge(http, orders, buyer, payment_method=method, order_id=order_id)
    other = _charge(http, orders, buyer, payment_method=method, order_id=order_id, amount=1)

    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert other.status_code == 409, other.text
    assert other.json()["payment_id"] == first.json()["id"]
    assert stripe_count("payment_intents") == intents_before + 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10.001}, "amount"),
        ({"amount": 100_000_000}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"payment_method": "4242424242424242"}, "payment_method"),
        ({"order_id": -1}, "order_id"),
        ({"status": "succeeded"}, "status"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    http: httpx.Client,
    orders: dict[str, str],
    buyer: Account,
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = _charge(http, orders, buyer, **({"payment_method": "pm_unused"} | overrides))

    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["errors"])


def test_an_unaccepted_currency_is_a_422_and_nothing_is_written(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    order_id = _order_id()
    response = _charge(http, orders, buyer, order_id=order_id, currency="JPY")

    assert response.status_code == 422
    assert response.json()["type"].endswith("/unsupported-currency")
    assert query("payments", "SELECT id FROM payments WHERE order_id = $1", order_id) == []


def test_a_missing_idempotency_key_is_a_422(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    body = {
        "order_id": _order_id(),
        "user_id": buyer.user_id,
        "amount": 5,
        "payment_method": "pm_x",
    }
    response = http.post("/api/payments/process", json=body, headers=orders)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.text


def test_only_the_orders_service_charges(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    assert _charge(http, {}, buyer).status_code == 401
    assert _charge(http, buyer.headers, buyer).status_code == 403
    assert _charge(http, staff.headers, buyer).status_code == 403
    assert _charge(http, service_headers("notifications"), buyer).status_code == 403


def test_payments_are_read_by_their_buyer_and_admins_only(
    http: httpx.Client, orders: dict[str, str], buyer: Account, staff: Account
) -> None:
    payment = _charge(http, orders, buyer).json()
    stranger = new_customer("stranger")

    for path in (f"/api/payments/{payment['id']}", f"/api/payments/order/{payment['order_id']}"):
        assert http.get(path, headers=buyer.headers).json()["id"] == payment["id"]
        assert http.get(path, headers=staff.headers).status_code == 200
        assert http.get(path, headers=stranger.headers).status_code == 404
        assert http.get(path).status_code == 401
    assert http.get("/api/payments/99999999999999999999", headers=staff.headers).status_code == 422


# -- refunds -------------------------------------------------------------------------------


def _refund(
    http: httpx.Client,
    headers: dict[str, str],
    payment_id: int,
    key: str | None = None,
    **fields: Any,
) -> httpx.Response:
    return http.post(
        "/api/payments/refund",
        json={"payment_id": payment_id, "reason": "customer asked"} | fields,
        headers=headers | {"Idempotency-Key": key or uuid.uuid4().hex},
    )


def test_partial_then_full_refund_and_never_more_than_captured(
    http: httpx.Client, orders: dict[str, str], buyer: Account, staff: Account
) -> None:
    payment = _charge(http, orders, buyer, amount=100).json()
    refunds_before = stripe_count("refunds")

    partial = _refund(http, staff.headers, payment["id"], amount=30.25)
    assert partial.status_code == 201, partial.text
    assert partial.json()["payment"]["status"] == "partially_refunded"
    assert partial.json()["payment"]["refunded_amount"] == 30.25

    too_much = _refund(http, orders, payment["id"], amount=69.76)
    assert too_much.status_code == 422, too_much.text
    assert too_much.json()["refundable"] == 69.75

    rest = _refund(http, orders, payment["id"])  # no amount: all that is left
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == 69.75
    assert rest.json()["payment"]["status"] == "refunded"
    assert rest.json()["payment"]["refunded_amount"] == 100

    again = _refund(http, staff.headers, payment["id"], amount=1)
    assert again.status_code == 409
    assert stripe_count("refunds") == refunds_before + 2
    events = [e for e in _outbox(payment["id"]) if e["event_type"] == "payment_refunded"]
    assert len(events) == 2
    last = validate_event(json.loads(events[-1]["payload"]), require_schema=True)
    assert (last["refund_amount"], last["refunded_amount"], last["status"]) == (
        69.75,
        100.0,
        "refunded",
    )


def test_a_refund_retried_with_its_key_is_done_once(
    http: httpx.Client, orders: dict[str, str], buyer: Account, staff: Account
) -> None:
    payment = _charge(http, orders, buyer, amount=20).json()
    key = uuid.uuid4().hex
    first = _refund(http, staff.headers, payment["id"], key=key, amount=5)
    again = _refund(http, staff.headers, payment["id"], key=key, amount=5)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    refunded = http.get(f"/api/payments/{payment['id']}", headers=staff.headers).json()
    assert refunded["refunded_amount"] == 5


def test_concurrent_refunds_never_exceed_the_capture(
    http: httpx.Client, orders: dict[str, str], buyer: Account, staff: Account
) -> None:
    payment = _charge(http, orders, buyer, amount=10).json()

    def attempt(_: int) -> int:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            return _refund(client, staff.headers, payment["id"], amount=4).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(attempt, range(6)))

    assert statuses == [201, 201, 422, 422, 422, 422]
    refunded = http.get(f"/api/payments/{payment['id']}", headers=staff.headers).json()
    assert refunded["refunded_amount"] == 8


def test_failed_payments_and_strangers_cannot_refund(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    failed = _charge(http, orders, buyer, payment_method=card(DECLINED_CARD)).json()
    paid = _charge(http, orders, buyer).json()

    assert _refund(http, orders, failed["payment_id"]).status_code == 409
    assert _refund(http, buyer.headers, paid["id"]).status_code == 403
    assert _refund(http, orders, 2**62).status_code == 404
    assert _refund(http, orders, paid["id"], amount=-1).status_code == 422


# -- Stripe outage, crash recovery, webhooks -----------------------------------------------


def test_a_stripe_outage_is_a_503_and_the_retry_charges_once(
    http: httpx.Client, orders: dict[str, str], buyer: Account
) -> None:
    order_id, key, method = _order_id(), uuid.uuid4().hex, card()
    charges_before = stripe_count("charges")
    with stopped("localstripe"):
        down = _charge(http, orders, buyer, payment_method=method, key=key, order_id=order_id)
        assert down.status_code == 503, down.text
        assert down.json()["type"].endswith("/upstream-unavailable")
        pending = query("payments", "SELECT status FROM payments WHERE order_id = $1", order_id)
        assert pending == [{"status": "pending"}]

    retried = _charge(http, orders, buyer, payment_method=method, key=key, order_id=order_id)
    assert retried.status_code == 201, retried.text
    assert retried.json()["status"] == "succeeded"
    assert stripe_count("charges") == charges_before + 1


def _stranded_payment(buyer: Account, intent_id: str | None) -> int:
    """A pending row as a crash mid-charge leaves it, last touched an hour ago."""
    rows = query(
        "payments",
        "INSERT INTO payments (order_id, user_id, amount, currency, payment_method, "
        "transaction_id, updated_at) VALUES ($1, $2, 15.00, 'USD', $3, $4, "
        "now() - interval '1 hour') RETURNING id",
        _order_id(),
        buyer.user_id,
        card(),
        intent_id,
    )
    return int(rows[0]["id"])


def _intent(confirm: bool, payment_id: int | None = None) -> str:
    client = stripe_client()
    params: dict[str, Any] = {
        "amount": 1500,
        "currency": "usd",
        "payment_method": card(),
        "payment_method_types": ["card"],
    }
    if payment_id is not None:  # as the service's charge tags it
        params["metadata"] = {"payment_id": str(payment_id)}
    intent = client.v1.payment_intents.create(params)  # type: ignore[arg-type]
    if confirm:
        client.v1.payment_intents.confirm(intent.id)
    return intent.id


def test_reconciliation_settles_what_a_crash_left_pending(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    never_created = _stranded_payment(buyer, None)
    unconfirmed_intent = _intent(confirm=False)
    unconfirmed = _stranded_payment(buyer, unconfirmed_intent)
    charged = _stranded_payment(buyer, _intent(confirm=True))
    # Charged in one call, then a crash before the intent's id was recorded.
    charged_unrecorded = _stranded_payment(buyer, None)
    lost_intent = _intent(confirm=True, payment_id=charged_unrecorded)

    response = http.post("/api/payments/reconcile", headers=staff.headers)

    assert response.status_code == 200, response.text
    assert response.json()["settled"] >= 4
    status = {
        row["id"]: (row["status"], row["failure_code"])
        for row in query(
            "payments",
            "SELECT id, status, failure_code FROM payments WHERE id = ANY($1::bigint[])",
            [never_created, unconfirmed, charged, charged_unrecorded],
        )
    }
    assert status == {
        never_created: ("failed", "abandoned"),
        unconfirmed: ("failed", "abandoned"),
        charged: ("succeeded", None),
        charged_unrecorded: ("succeeded", None),
    }
    [recorded] = query(
        "payments", "SELECT transaction_id FROM payments WHERE id = $1", charged_unrecorded
    )
    assert recorded["transaction_id"] == lost_intent
    assert stripe_client().v1.payment_intents.retrieve(unconfirmed_intent).status == "canceled"
    assert [e["event_type"] for e in _outbox(charged)] == ["payment_succeeded"]
    assert http.post("/api/payments/reconcile", headers=buyer.headers).status_code == 403


def _signed(event: dict[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event).encode()
    secret = secret or Settings().stripe_webhook_secret.get_secret_value()
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=int(time.time())
    )
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}


def _intent_event(intent_id: str) -> dict[str, Any]:
    intent = stripe_client().v1.payment_intents.retrieve(intent_id)
    return {
        "id": f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": f"payment_intent.{intent.status}",
        "data": {"object": intent.to_dict()},
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
    }


def test_a_signed_webhook_settles_a_pending_payment_once(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    intent_id = _intent(confirm=True)
    payment_id = _stranded_payment(buyer, intent_id)
    payload, headers = _signed(_intent_event(intent_id))

    first = http.post("/api/payments/webhook", content=payload, headers=headers)
    replay = http.post("/api/payments/webhook", content=payload, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "handled": True}
    assert replay.json() == {"received": True, "handled": False}
    payment = http.get(f"/api/payments/{payment_id}", headers=staff.headers).json()
    assert payment["status"] == "succeeded"
    assert [e["event_type"] for e in _outbox(payment_id)] == ["payment_succeeded"]


@pytest.mark.parametrize("tamper", ["wrong-secret", "changed-body", "no-header", "old"])
def test_a_webhook_with_a_bad_signature_is_a_400_and_changes_nothing(
    http: httpx.Client, buyer: Account, tamper: str
) -> None:
    intent_id = _intent(confirm=True)
    payment_id = _stranded_payment(buyer, intent_id)
    event = _intent_event(intent_id)
    payload, headers = _signed(event, "whsec_not-ours" if tamper == "wrong-secret" else None)
    if tamper == "changed-body":
        payload = payload.replace(b'"succeeded"', b'"canceled"')
    if tamper == "no-header":
        del headers["Stripe-Signature"]
    if tamper == "old":
        secret = Settings().stripe_webhook_secret.get_secret_value()
        headers["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret, timestamp=int(time.time()) - 3600
        )

    response = http.post("/api/payments/webhook", content=payload, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/invalid-webhook-signature")
    rows = query("payments", "SELECT status FROM payments WHERE id = $1", payment_id)
    assert rows == [{"status": "pending"}]


# -- saved cards ---------------------------------------------------------------------------


def test_a_user_saves_lists_pays_with_and_removes_their_cards(
    http: httpx.Client, orders: dict[str, str]
) -> None:
    owner, other = new_customer("cardholder"), new_customer("cardthief")
    saved = [
        http.post("/api/payments/methods", json={"payment_method": card()}, headers=owner.headers)
        for _ in range(3)
    ]
    assert [s.status_code for s in saved] == [201] * 3, saved[0].text
    assert saved[0].json()["last4"] == "4242"
    assert saved[0].json()["brand"] == "visa"

    first_page = http.get("/api/payments/methods?limit=2", headers=owner.headers).json()
    second_page = http.get(
        f"/api/payments/methods?limit=2&cursor={first_page['next_cursor']}", headers=owner.headers
    ).json()
    ids = [c["id"] for c in first_page["items"] + second_page["items"]]
    assert sorted(ids) == sorted(s.json()["id"] for s in saved)
    assert second_page["next_cursor"] is None
    assert http.get("/api/payments/methods", headers=other.headers).json()["items"] == []

    paid = _charge(http, orders, owner, payment_method=ids[0])
    assert paid.status_code == 201, paid.text
    customer = query(
        "payments", "SELECT customer_id FROM stripe_customers WHERE user_id = $1", owner.user_id
    )[0]["customer_id"]
    intent = stripe_client().v1.payment_intents.retrieve(paid.json()["transaction_id"])
    assert intent.customer == customer

    assert http.delete(f"/api/payments/methods/{ids[0]}", headers=other.headers).status_code == 404
    assert http.delete(f"/api/payments/methods/{ids[0]}", headers=owner.headers).status_code == 204
    left = http.get("/api/payments/methods", headers=owner.headers).json()["items"]
    assert ids[0] not in [c["id"] for c in left]
    assert stripe_client().v1.payment_methods.retrieve(ids[0]).customer is None


def test_saving_a_card_needs_a_user_and_a_real_payment_method(
    http: httpx.Client, buyer: Account
) -> None:
    assert http.post("/api/payments/methods", json={"payment_method": card()}).status_code == 401
    as_service = http.post(
        "/api/payments/methods",
        json={"payment_method": card()},
        headers=service_headers("orders"),
    )
    assert as_service.status_code == 403
    unknown = http.post(
        "/api/payments/methods", json={"payment_method": "pm_nosuchcard"}, headers=buyer.headers
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["type"].endswith("/invalid-payment-method")


@pytest.fixture
def faults() -> Iterator[Callable[[str, int | bool], None]]:
    """Fault flags of the running stack (ADR 0020), all off again after the test."""
    reset_flags()
    try:
        yield lambda name, value: (set_flag(name, value), None)[1]
    finally:
        reset_flags()


def test_the_payment_failure_flag_declines_like_a_card_without_calling_stripe(
    http: httpx.Client,
    orders: dict[str, str],
    buyer: Account,
    faults: Callable[[str, int | bool], None],
) -> None:
    faults("payment-failure-percent", 100)
    _wait_for_status(lambda: _charge(http, orders, buyer), 402)
    response = _charge(http, orders, buyer)

    assert response.status_code == 402, response.text

    problem = response.json()
    assert problem["decline_code"] == "fault_injected"
    assert "fault flag" in problem["detail"]
    payment = http.get(f"/api/payments/{problem['payment_id']}", headers=orders).json()
    assert (payment["status"], payment["failure_code"]) == ("failed", "fault_injected")
    assert payment["transaction_id"] is None  # no PaymentIntent: Stripe was never asked
    assert [e["event_type"] for e in _outbox(payment["id"])] == ["payment_failed"]


def test_the_payment_unreachable_flag_is_a_503_that_writes_nothing(
    http: httpx.Client,
    orders: dict[str, str],
    buyer: Account,
    faults: Callable[[str, int | bool], None],
) -> None:
    faults("payment-unreachable", True)
    _wait_for_status(lambda: _charge(http, orders, buyer), 503)
    order_id = _order_id()
    response = _charge(http, orders, buyer, order_id=order_id)

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert query("payments", "SELECT id FROM payments WHERE order_id = $1", order_id) == []
    faults("payment-unreachable", False)
    retried = _wait_for_status(lambda: _charge(http, orders, buyer, order_id=order_id), 201)
    assert retried.json()["status"] == "succeeded"


def _wait_for_status(call: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """The flag reaches payments within about a second: call (each time for another order)
    until it answers `status`; the calls before may have charged, so tests look after it."""
    deadline = time.monotonic() + 10
    while (response := call()).status_code != status:
        assert time.monotonic() < deadline, f"still {response.status_code}: {response.text}"
        time.sleep(0.2)
    return response
