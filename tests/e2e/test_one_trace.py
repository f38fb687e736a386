"""One checkout is one trace: gateway -> orders -> products, payments -> Kafka -> notifications."""

import secrets
from typing import Any

import httpx

from tests.accounts import admin, new_customer
from tests.mailbox import wait_for_messages
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url, wait_for
from tests.traces import service_of, spans_of

EXPECTED_SERVICES = {"gateway", "orders", "products", "payments", "notifications"}


def test_a_checkout_is_one_trace_across_services_sql_dynamodb_and_kafka() -> None:
    staff, buyer = admin(), new_customer("traced")
    product = new_product(staff, stock=5)
    trace_id = secrets.token_hex(16)
    with httpx.Client(base_url=service_url("gateway"), timeout=60) as gateway:
        gateway.headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
        response = place(gateway, buyer, order_body([(product["id"], 1)]))
    assert response.status_code == 201, response.text
    wait_for_messages(f"{buyer.username}@example.com", count=2)  # confirmation and payment

    def whole_trace() -> list[dict[str, Any]] | None:
        spans = spans_of(trace_id)
        consumed = [s for s in spans if str(s["name"]).startswith("consume ")]
        # A parent ends, so is exported, after its children: wait for one complete tree.
        ids = {s["context"]["span_id"] for s in spans}
        roots = [s for s in spans if s["parent_id"] not in ids]
        services = {service_of(s) for s in spans}
        return spans if services >= EXPECTED_SERVICES and consumed and len(roots) == 1 else None

    # The batch processors export every 5 s.
    spans = wait_for(whole_trace, timeout=45, interval=2, what="the checkout's spans, one tree")
    kinds = {(service_of(s), s["kind"]) for s in spans}
    assert ("gateway", "SpanKind.SERVER") in kinds
    assert ("gateway", "SpanKind.CLIENT") in kinds  # the proxied call to orders
    assert ("orders", "SpanKind.PRODUCER") in kinds  # the outbox relay publishing
    assert ("notifications", "SpanKind.CONSUMER") in kinds
    systems = {
        s["attributes"].get("db.system") or s["attributes"].get("rpc.service") for s in spans
    }
    assert {"postgresql", "dynamodb"} <= systems
    # The one root is the gateway's server span, child of the caller's traceparent.
    ids = {s["context"]["span_id"] for s in spans}
    [root] = [s for s in spans if s["parent_id"] not in ids]
    assert (service_of(root), root["kind"]) == ("gateway", "SpanKind.SERVER")
