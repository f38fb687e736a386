"""The orders service against the real stack: users, products, payments, localstripe, Kafka."""

import uuid
from typing import Any

import httpx
import pytest

from cloudmart_common.events import validate_event
from cloudmart_local.shop import DECLINED_CARD
from tests.accounts import Account, new_customer, service_headers
from tests.shop import new_product, order_body, place
from tests.stack_control import (
    card,
    query,
    service_url,
    stock_of,
    stripe_count,
    topic_events,
    wait_for,
)

PAYMENTS = service_url("payments")


def _events_of(order_id: int, expected: int) -> list[dict[str, Any]]:
    """The order's events on topic `orders`, once the relay has published `expected` of them."""
    return wait_for(
        lambda: (
            events
            if len(events := [e for e in topic_events("orders") if e.get("order_id") == order_id])
            >= expected
            else None
        ),
        timeout=30,
        what=f"{expected} events of order {order_id} on topic orders",
    )


def _payment_of(order_id: int, staff: Account) -> dict[str, Any]:
    response = httpx.get(f"{PAYMENTS}/api/payments/order/{order_id}", headers=staff.headers)
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


def test_an_order_over_the_largest_total_is_422_and_nothing_is_held_or_charged(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    # Two of the dearest product the catalog takes: a total NUMERIC(10,2) cannot hold (a 500).
    dearest = new_product(staff, price=99_999_999.99, stock=5)
    charges_before = stripe_count("charges")

    response = place(http, buyer, order_body([(dearest["id"], 2)]))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "99999999.99" in response.json()["detail"]
    assert stock_of(dearest["id"]) == 5
    assert stripe_count("charges") == charges_before


def test_checkout_prices_from_the_catalog_charges_once_and_publishes_its_events(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    lamp, desk = new_product(staff, price=19.99), new_product(staff, price=250)
    charges_before = stripe_count("charges")

    response = place(http, buyer, order_body([(lamp["id"], 2), (desk["id"], 1)]))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "processing"
    assert order["total_amount"] == 289.98
    assert order["currency"] == "USD"
    assert [(i["product_name"], i["price"]) for i in order["items"]] == [
        (lamp["name"], 19.99),
        (desk["name"], 250),
    ]
    assert [(h["from_status"], h["to_status"]) for h in order["history"]] == [
        (None, "pending"),
        ("pending", "processing"),
    ]
    assert stripe_count("charges") == charges_before + 1
    payment = _payment_of(order["id"], staff)
    assert (payment["id"], payment["amount"], payment["status"]) == (
        order["payment_id"],
        289.98,
        "succeeded",
    )
    assert (stock_of(lamp["id"]), stock_of(desk["id"])) == (18, 19)
    events = _events_of(order["id"], 2)
    assert [e["event_type"] for e in events] == ["order_created", "order_paid"]
    for event in events:
        validate_event(event, require_schema=True)
    assert events[0]["items"][0] == {
        "product_id": lamp["id"],
        "product_name": lamp["name"],
        "quantity": 2,
        "price": 19.99,
    }
    assert events[1]["payment_id"] == order["payment_id"]


def test_the_same_idempotency_key_places_one_order_and_charges_once(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff)
    body, key = order_body([(product["id"], 1)]), uuid.uuid4().hex
    charges_before = stripe_count("charges")

    first = place(http, buyer, body, key)
    again = place(http, buyer, body, key)
    other_body = place(http, buyer, body | {"shipping_address": "elsewhere 42"}, key)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert stripe_count("charges") == charges_before + 1
    assert stock_of(product["id"]) == 19


def test_a_declined_card_cancels_the_order_and_releases_its_stock(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=5)

    response = place(http, buyer, order_body([(product["id"], 3)], DECLINED_CARD))

    assert response.status_code == 402, response.text
    problem = response.json()
    assert problem["type"].endswith("/payment-declined")
    assert problem["decline_code"] == "card_declined"
    assert stock_of(product["id"]) == 5
    order = http.get(f"/api/orders/{problem['order_id']}", headers=buyer.headers).json()
    assert order["status"] == "cancelled"
    assert order["cancel_reason"].startswith("payment declined")
    events = _events_of(order["id"], 2)
    assert [e["event_type"] for e in events] == ["order_created", "order_cancelled"]
    validate_event(events[1], require_schema=True)


def test_out_of_stock_cancels_without_charging(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    plenty, scarce = new_product(staff, stock=50), new_product(staff, stock=1)
    intents_before = stripe_count("payment_intents")

    response = place(http, buyer, order_body([(plenty["id"], 1), (scarce["id"], 2)]))

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith("/out-of-stock")
    assert problem["product_ids"] == [scarce["id"]]
    assert (stock_of(plenty["id"]), stock_of(scarce["id"])) == (50, 1)
    assert stripe_count("payment_intents") == intents_before
    order = http.get(f"/api/orders/{problem['order_id']}", headers=buyer.headers).json()
    assert order["status"] == "cancelled"


def test_the_status_workflow_and_its_illegal_transitions(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff)
    order = place(http, buyer, order_body([(product["id"], 1)])).json()
    path = f"/api/orders/{order['id']}/status"

    def move(status: str, who: Account = staff) -> httpx.Response:
        return http.patch(path, json={"status": status}, headers=who.headers)

    assert move("shipped", buyer).status_code == 403
    assert move("delivered").status_code == 409  # processing cannot skip shipping
    assert move("pending").status_code == 409
    shipped = move("shipped")
    assert shipped.status_code == 200, shipped.text
    assert move("cancelled").status_code == 409  # shipped orders are not cancelled
    delivered = move("delivered")
    assert delivered.json()["status"] == "delivered"
    conflict = move("shipped")
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("/illegal-transition")
    assert [h["to_status"] for h in delivered.json()["history"]] == [
        "pending",
        "processing",
        "shipped",
        "delivered",
    ]
    assert delivered.json()["history"][-1]["changed_by"] == f"admin:{staff.user_id}"
    events = _events_of(order["id"], 4)
    assert [e["event_type"] for e in events] == [
        "order_created",
        "order_paid",
        "order_shipped",
        "order_delivered",
    ]
    for event in events:
        validate_event(event, require_schema=True)


def test_admins_cannot_mark_an_order_paid(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=1)
    failed = place(http, buyer, order_body([(product["id"], 1)], DECLINED_CARD)).json()

    response = http.patch(
        f"/api/orders/{failed['order_id']}/status",
        json={"status": "processing"},
        headers=staff.headers,
    )

    assert response.status_code == 409


def test_cancelling_a_paid_order_refunds_it_and_releases_its_stock(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=4, price=30)
    order = place(http, buyer, order_body([(product["id"], 4)])).json()
    assert stock_of(product["id"]) == 0

    response = http.request(
        "DELETE",
        f"/api/orders/{order['id']}",
        json={"reason": "changed my mind"},
        headers=buyer.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "changed my mind"
    assert stock_of(product["id"]) == 4
    payment = _payment_of(order["id"], staff)
    assert (payment["status"], payment["refunded_amount"]) == ("refunded", 120)
    again = http.delete(f"/api/orders/{order['id']}", headers=buyer.headers)
    assert again.status_code == 409
    cancelled = _events_of(order["id"], 3)[-1]
    assert cancelled["event_type"] == "order_cancelled"
    assert (cancelled["previous_status"], cancelled["refunded"]) == ("processing", True)


def test_a_user_sees_only_their_own_orders(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    other = new_customer("nosy")
    product = new_product(staff)
    order = place(http, buyer, order_body([(product["id"], 1)])).json()

    assert http.get(f"/api/orders/{order['id']}", headers=other.headers).status_code == 404
    assert http.delete(f"/api/orders/{order['id']}", headers=other.headers).status_code == 404
    theirs = http.get(f"/api/orders/user/{buyer.user_id}", headers=other.headers)
    assert theirs.status_code == 404
    assert http.get(f"/api/orders/{order['id']}", headers=staff.headers).status_code == 200
    assert http.get(f"/api/orders/{order['id']}").status_code == 401
    assert http.get("/api/orders", headers=buyer.headers).status_code == 403


def test_a_users_orders_come_newest_first_in_pages(http: httpx.Client, staff: Account) -> None:
    shopper = new_customer("pager")
    product = new_product(staff)
    placed = [place(http, shopper, order_body([(product["id"], 1)])).json()["id"] for _ in range(3)]

    first = http.get(f"/api/orders/user/{shopper.user_id}?limit=2", headers=shopper.headers)
    second = http.get(
        f"/api/orders/user/{shopper.user_id}?limit=2&cursor={first.json()['next_cursor']}",
        headers=shopper.headers,
    )

    ids = [o["id"] for o in first.json()["items"] + second.json()["items"]]
    assert ids == sorted(placed, reverse=True)
    assert second.json()["next_cursor"] is None
    bad = http.get(f"/api/orders/user/{shopper.user_id}?cursor=abc", headers=shopper.headers)
    assert bad.status_code == 400
    by_admin = http.get(
        f"/api/orders?user_id={shopper.user_id}&status=processing", headers=staff.headers
    )
    assert [o["id"] for o in by_admin.json()["items"]] == sorted(placed, reverse=True)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_amount": 0.01}, "total_amount"),
        ({"items": [{"product_id": 1, "quantity": 1, "price": 0.01}]}, "price"),
        ({"status": "delivered"}, "status"),
        ({"items": []}, "items"),
        ({"items": [{"product_id": 1, "quantity": 0}]}, "quantity"),
        ({"items": [{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]}, "items"),
        ({"payment_method": "4242424242424242"}, "payment_method"),
        ({"shipping_address": ""}, "shipping_address"),
    ],
)
def test_what_the_client_may_not_decide_is_a_422(
    http: httpx.Client, buyer: Account, change: dict[str, Any], field: str
) -> None:
    body = {
        "items": [{"product_id": 1, "quantity": 1}],
        "shipping_address": "12 Test Street",
        "payment_method": "pm_unused",
    } | change

    response = place(http, buyer, body)

    assert response.status_code == 422, response.text
    assert field in str(response.json()["errors"])


def test_unknown_products_and_service_tokens_are_refused(
    http: httpx.Client, buyer: Account
) -> None:
    unknown = place(http, buyer, order_body([(2**60, 1)]))
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("/unknown-product")
    as_service = http.post(
        "/api/orders",
        json=order_body([(1, 1)]),
        headers=service_headers("payments") | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert as_service.status_code == 403


def _stranded(
    template: dict[str, Any],
    status: str,
    *,
    idle_seconds: int = 0,
    step: str = "reserved",
    key: str | None = None,
) -> int:
    """A copy of `template` in `status` at saga step `step`, as a crash would leave it,
    last touched `idle_seconds` ago; under a fresh id that no service has seen yet."""
    order_id = query(
        "orders",
        "INSERT INTO orders (user_id, status, saga_step, total_amount, currency, "
        "shipping_address, payment_method, idempotency_key, version, updated_at) "
        "SELECT user_id, $2, $5, total_amount, currency, shipping_address, "
        "payment_method, $3, 1, now() - make_interval(secs => $4) FROM orders WHERE id = $1 "
        "RETURNING id",
        template["id"],
        status,
        key or uuid.uuid4().hex,
        idle_seconds,
        step,
    )[0]["id"]
    query(
        "orders",
        "INSERT INTO order_items (order_id, product_id, product_name, quantity, price) "
        "SELECT $2, product_id, product_name, quantity, price FROM order_items "
        "WHERE order_id = $1",
        template["id"],
        order_id,
    )
    return int(order_id)


def _charge_as_orders(order_id: int, buyer: Account, amount: float) -> dict[str, Any]:
    """What the saga's charge step sends, for an order the saga itself did not get to."""
    response = httpx.post(
        f"{PAYMENTS}/api/payments/process",
        json={
            "order_id": order_id,
            "user_id": buyer.user_id,
            "amount": amount,
            "currency": "USD",
            "payment_method": card(),
        },
        headers=service_headers("orders") | {"Idempotency-Key": f"order-{order_id}-charge"},
    )
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


def _order_once(http: httpx.Client, staff: Account, order_id: int, done: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        order: dict[str, Any] = http.get(f"/api/orders/{order_id}", headers=staff.headers).json()
        return order if order["status"] == done else None

    return wait_for(settled, timeout=60, what=f"order {order_id} to become {done}")


def test_a_payment_confirmed_later_moves_the_order_on(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    template = place(http, buyer, order_body([(new_product(staff)["id"], 1)])).json()
    waiting = _stranded(template, "pending")

    payment = _charge_as_orders(waiting, buyer, template["total_amount"])

    order = _order_once(http, staff, waiting, "processing")
    assert order["payment_id"] == payment["id"]
    assert order["history"][-1]["changed_by"] == f"payment:{payment['id']}"


def test_a_payment_for_an_order_cancelled_meanwhile_is_refunded(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    template = place(http, buyer, order_body([(new_product(staff)["id"], 1)])).json()
    cancelled = _stranded(template, "cancelled")

    payment = _charge_as_orders(cancelled, buyer, template["total_amount"])

    def refunded() -> dict[str, Any] | None:
        current: dict[str, Any] = httpx.get(
            f"{PAYMENTS}/api/payments/{payment['id']}", headers=staff.headers
        ).json()
        return current if current["status"] == "refunded" else None

    assert wait_for(refunded, timeout=60, what="the late payment to be refunded")
    assert http.get(f"/api/orders/{cancelled}", headers=staff.headers).json()["status"] == (
        "cancelled"
    )


def test_a_retry_of_a_checkout_a_crash_interrupted_undoes_it_and_places_the_order(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=3)
    body = order_body([(product["id"], 1)])
    template = place(http, buyer, body).json()
    # The process placing it died after writing the order, before the charge; the buyer's
    # retry with the same key reaches another replica.
    key = uuid.uuid4().hex
    stranded = _stranded(template, "pending", step="created", key=key)
    charges_before = stripe_count("charges")

    answer = place(http, buyer, body, key)

    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] != stranded
    assert answer.json()["status"] == "processing"
    again = place(http, buyer, body, key)
    assert (again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        answer.json()["id"],
        "true",
    )
    assert http.get(f"/api/orders/{stranded}", headers=staff.headers).json()["status"] == (
        "cancelled"
    )
    assert stripe_count("charges") == charges_before + 1
    assert stock_of(product["id"]) == 1  # the template's unit and the retry's


def test_recovery_compensates_an_order_a_crash_left_pending(
    http: httpx.Client, buyer: Account, staff: Account
) -> None:
    product = new_product(staff, stock=3)
    order = place(http, buyer, order_body([(product["id"], 2)])).json()
    # Crashed after the reservation, before the charge: stock held, no payment, quiet for long.
    stranded = _stranded(order, "pending", idle_seconds=3600)
    reserve = httpx.post(
        f"{service_url('products')}/internal/reservations",
        json={"order_id": str(stranded), "lines": [{"product_id": product["id"], "quantity": 1}]},
        headers=service_headers("orders"),
    )
    assert reserve.status_code == 201, reserve.text
    assert stock_of(product["id"]) == 0

    recovered = _order_once(http, staff, stranded, "cancelled")

    assert recovered["history"][-1]["changed_by"] == "system:recovery"
    assert stock_of(product["id"]) == 1
