"""Request ids, JSON logs carrying them and the trace id, and W3C trace context propagation."""

import json
import logging
import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace

from cloudmart_common.tracing import (
    context_from_kafka_headers,
    instrument_httpx_client,
    kafka_headers_with_trace,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
router = APIRouter()
outgoing: list[httpx.Request] = []


def _record(request: httpx.Request) -> httpx.Response:
    outgoing.append(request)
    return httpx.Response(204)


@router.get("/work")
async def work() -> dict[str, str]:
    logging.getLogger("cloudmart.test").info("doing the work")
    # A downstream call made while handling the request: it must carry the trace.
    transport = httpx.MockTransport(_record)
    async with httpx.AsyncClient(transport=transport) as client:
        instrument_httpx_client(client)
        await client.get("http://products.internal/api/products/1")
    return {"ok": "yes"}


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app(router, service_name="context-test"))


def test_a_valid_incoming_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/work", headers={"X-Request-ID": "checkout-42.retry:1"})
    assert response.headers["x-request-id"] == "checkout-42.retry:1"


@pytest.mark.parametrize(
    "bad", ["x" * 129, "has space", "line\\nbreak", 'quote"', "semi;colon", ""]
)
def test_an_invalid_incoming_request_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/work", headers={"X-Request-ID": bad})
    generated = response.headers["x-request-id"]
    assert generated != bad
    assert len(generated) == 32
    assert generated.isalnum()


def test_log_lines_are_json_with_service_request_and_incoming_trace(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.get(
        "/work", headers={"X-Request-ID": "req-1", "traceparent": INCOMING_TRACEPARENT}
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [line] = [line for line in lines if line.get("message") == "doing the work"]
    assert line["service"] == "context-test"
    assert line["request_id"] == "req-1"
    assert line["trace_id"] == TRACE_ID
    assert line["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])


def test_an_outgoing_call_continues_the_incoming_trace(client: TestClient) -> None:
    outgoing.clear()
    client.get("/work", headers={"traceparent": INCOMING_TRACEPARENT})
    [request] = outgoing
    assert request.headers["traceparent"].split("-")[1] == TRACE_ID


def test_kafka_headers_carry_the_current_trace_and_read_back() -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        headers = kafka_headers_with_trace()
        trace_id = span.get_span_context().trace_id
    values = dict(headers)
    assert values["traceparent"].decode().split("-")[1] == format(trace_id, "032x")
    restored = trace.get_current_span(context_from_kafka_headers(headers)).get_span_context()
    assert restored.trace_id == trace_id
