"""The notifications service against real Kafka, Redis, the users service and the SMTP sink."""

import json
import random
import time
import uuid
from typing import Any

import httpx
import pytest

from cloudmart_common.events import new_event
from tests.accounts import PASSWORD, Account, admin, new_customer, service_headers
from tests.faults import report
from tests.mailbox import headers, message, messages_to, wait_for_messages
from tests.stack_control import (
    killed,
    publish,
    service_url,
    stopped,
    topic_events,
    wait_for,
)

BASE = service_url("notifications")


@pytest.fixture(scope="module")
def http() -> httpx.Client:
    return httpx.Client(base_url=BASE, timeout=30)


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


def _email_of(account: Account) -> str:
    return f"{account.username}@example.com"


def _order_event(event_type: str, buyer: Account, **fields: Any) -> dict[str, Any]:
    order_id = random.randint(10**8, 10**9)
    return new_event(
        event_type,
        {
            "order_id": order_id,
            "user_id": buyer.user_id,
            "total_amount": 1018.99,
            "currency": "USD",
            "status": {"order_created": "pending", "order_shipped": "shipped"}[event_type],
            "items": [
                {"product_id": 7, "product_name": "Laptop", "quantity": 1, "price": 999.99},
                {"product_id": 12, "product_name": "USB-C cable", "quantity": 2, "price": 9.5},
            ],
            "shipping_region": "us-east",
        }
        | fields,
    )


def _quiet(seconds: float = 3) -> None:
    """Give a wrong implementation time to send what it should not."""
    time.sleep(seconds)


def test_an_order_created_event_yields_one_confirmation_with_items_and_total() -> None:
    buyer = new_customer("mailme")
    event = _order_event("order_created", buyer)

    publish("orders", str(event["order_id"]), event)

    [found] = wait_for_messages(_email_of(buyer))
    assert found["Subject"] == f"Your CloudMart order #{event['order_id']} is confirmed"
    body = message(found["ID"])
    assert "1 x Laptop at $999.99" in body["Text"]
    assert "2 x USB-C cable at $9.50" in body["Text"]
    assert "Total: $1,018.99" in body["Text"]
    assert "<strong>$1,018.99</strong>" in body["HTML"]


def test_the_same_event_delivered_twice_sends_one_email() -> None:
    buyer = new_customer("twice")
    event = _order_event("order_created", buyer)

    publish("orders", str(event["order_id"]), event, event)
    publish("orders", str(event["order_id"]), event)

    wait_for_messages(_email_of(buyer))
    _quiet()
    assert len(messages_to(_email_of(buyer))) == 1


def test_shipping_also_goes_by_sms_to_a_buyer_with_a_phone() -> None:
    name = f"phone{uuid.uuid4().hex[:8]}"
    registered = httpx.post(
        f"{service_url('users')}/api/users/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": PASSWORD,
            "phone": "+15551234567",
        },
    )
    assert registered.status_code == 201, registered.text
    buyer = Account(registered.json()["id"], name, {})
    event = _order_event("order_shipped", buyer)

    publish("orders", str(event["order_id"]), event)

    wait_for_messages(_email_of(buyer))
    sms = wait_for(
        lambda: [
            m
            for m in messages_to("sms+15551234567@sink.cloudmart.example.com")
            if str(event["order_id"]) in m["Snippet"]
        ],
        timeout=30,
        what="the SMS in the sink",
    )
    assert headers(sms[0]["ID"])["X-Cloudmart-Recipient"] == ["+15551234567"]


def test_a_consumer_killed_mid_batch_loses_nothing_and_sends_nothing_twice() -> None:
    buyer = new_customer("crash")
    events = [_order_event("order_created", buyer) for _ in range(40)]

    publish("orders", "crash-batch", *events)
    wait_for_messages(_email_of(buyer), count=3)  # it is in the middle of the batch
    with killed("notifications"):
        pass

    found = wait_for_messages(_email_of(buyer), count=40, timeout=120)
    _quiet()
    subjects = [m["Subject"] for m in messages_to(_email_of(buyer))]
    report(
        "notification consumer SIGKILLed mid-batch",
        events=len(events),
        emails=len(subjects),
        lost=max(0, len(events) - len(set(subjects))),
        sent_twice=len(subjects) - len(set(subjects)),
    )
    assert len(found) >= 40
    assert sorted(subjects) == sorted(
        f"Your CloudMart order #{e['order_id']} is confirmed" for e in events
    )


def test_with_smtp_down_for_a_while_mail_is_retried_then_delivered() -> None:
    buyer = new_customer("patient")
    event = _order_event("order_created", buyer)

    with stopped("mailpit"):
        publish("orders", str(event["order_id"]), event)
        time.sleep(4)  # several failed attempts, fewer than the consumer allows

    [found] = wait_for_messages(_email_of(buyer), timeout=90)
    assert str(event["order_id"]) in found["Subject"]
    dead = [e for e in topic_events("notifications-dlq") if e.get("event_id") == event["event_id"]]
    assert dead == []


def test_a_poison_message_goes_to_the_dlq_and_the_next_one_is_handled() -> None:
    buyer = new_customer("afterpoison")
    unknown = new_event("order_teleported", {"order_id": 1})
    # An envelope without the order's fields: it fails the order_created schema.
    missing_fields = new_event("widget_created", {"order_id": 2}) | {"event_type": "order_created"}
    good = _order_event("order_created", buyer)

    publish("orders", "poison", b"{not json", unknown, missing_fields, good)

    wait_for_messages(_email_of(buyer))
    dead = wait_for(
        lambda: (
            found
            if len(
                found := [
                    e
                    for e in topic_events("notifications-dlq")
                    if e.get("event_id") in (unknown["event_id"], missing_fields["event_id"])
                ]
            )
            == 2
            else None
        ),
        timeout=30,
        what="both bad events in the DLQ",
    )
    assert {e["event_type"] for e in dead} == {"order_teleported", "order_created"}


def test_a_manual_send_needs_an_admin_or_a_service_granted_it(
    http: httpx.Client, staff: Account
) -> None:
    customer = new_customer("manual")
    body = {"user_id": customer.user_id, "subject": "About your order", "message": "All good."}

    assert http.post("/api/notifications/send", json=body).status_code == 401
    assert (
        http.post("/api/notifications/send", json=body, headers=customer.headers).status_code == 403
    )
    sent = http.post("/api/notifications/send", json=body, headers=staff.headers)
    # No service holds `notifications:send` (cloudmart_common.scopes): orders is refused.
    by_service = http.post(
        "/api/notifications/send",
        json={"recipient": _email_of(customer), "subject": "Hello", "message": "From a service"},
        headers=service_headers("orders"),
    )

    assert sent.status_code == 201, sent.text
    assert sent.json()["items"][0]["recipient"] == _email_of(customer)
    assert by_service.status_code == 403, by_service.text
    subjects = {m["Subject"] for m in wait_for_messages(_email_of(customer), count=1)}
    assert subjects == {"About your order"}
    log = http.get("/api/notifications?limit=5", headers=staff.headers).json()["items"]
    assert "About your order" in {entry["subject"] for entry in log}
    assert http.get("/api/notifications", headers=customer.headers).status_code == 403


def test_bad_manual_sends_are_422(http: httpx.Client, staff: Account) -> None:
    for body in (
        {"subject": "x", "message": "y"},  # nobody to send to
        {"user_id": 1, "recipient": "a@example.com", "subject": "x", "message": "y"},
        {"user_id": 1},  # the manual template needs subject and message
        {"user_id": 1, "subject": "x", "message": "y", "channel": "pigeon"},
    ):
        response = http.post("/api/notifications/send", json=body, headers=staff.headers)
        assert response.status_code == 422, (body, response.text)


def test_admins_list_and_preview_templates(http: httpx.Client, staff: Account) -> None:
    listed = http.get("/api/notifications/templates", headers=staff.headers)
    names = {t["name"] for t in listed.json()["items"]}
    sample = http.post(
        "/api/notifications/templates/order_confirmation/preview", headers=staff.headers
    )
    given = http.post(
        "/api/notifications/templates/refund/preview",
        json={
            "data": {
                "order_id": 9,
                "amount": 50,
                "refund_amount": 12.3,
                "refunded_amount": 12.3,
                "currency": "EUR",
                "reason": "damaged",
                "name": "Bo",
            }
        },
        headers=staff.headers,
    )
    missing = http.post(
        "/api/notifications/templates/refund/preview",
        json={"data": {"order_id": 9}},
        headers=staff.headers,
    )

    assert {
        "order_confirmation",
        "payment_confirmation",
        "order_shipped",
        "order_delivered",
        "order_cancelled",
        "refund",
        "password_reset",
        "low_stock",
    } <= names
    assert sample.json()["subject"] == "Your CloudMart order #123 is confirmed"
    assert given.json()["subject"] == "Refund of €12.30 for order #9"
    assert missing.status_code == 422
    assert missing.json()["type"].endswith("/template-data-invalid")
    assert (
        http.post("/api/notifications/templates/nope/preview", headers=staff.headers).status_code
        == 404
    )
    customer = new_customer("peek")
    assert http.get("/api/notifications/templates", headers=customer.headers).status_code == 403


def test_the_readiness_document_shows_the_consumer(http: httpx.Client) -> None:
    consumer = http.get("/ready").json()["checks"]["consumer"]
    assert consumer["group"] == "notification-service-group"
    assert "orders-0" in consumer["partitions"]
    assert json.dumps(consumer["lag"])
