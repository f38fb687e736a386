"""W3C trace context continues through a service: incoming HTTP, outgoing HTTP, Kafka headers."""

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from cloudmart_common.observed import _parent_context
from cloudmart_common.settings import CommonSettings
from cloudmart_common.tracing import (
    _tracer_provider,
    configure_tracing,
    context_from_kafka_headers,
    instrument_httpx_client,
    kafka_headers_with_trace,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
W3C = TraceContextTextMapPropagator()
INCOMING_TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"

router = APIRouter()
outgoing: list[httpx.Request] = []


def _record(request: httpx.Request) -> httpx.Response:
    outgoing.append(request)
    return httpx.Response(204)


@router.get("/call-products")
async def call_products() -> dict[str, str]:
    """Calls another service while handling the request, as ServiceClient does."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(_record)) as client:
        instrument_httpx_client(client)
        await client.get("http://products.internal/api/products/1")
    return {"trace_id": format(trace.get_current_span().get_span_context().trace_id, "032x")}


@router.get("/api/ready-meals")
async def ready_meals() -> list[str]:
    return []


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("boom")


@pytest.fixture(scope="module", autouse=True)
def _tracing() -> None:
    configure_tracing(CommonSettings(service_name="tracing-test"))


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app(router), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def finished_spans() -> Iterator[InMemorySpanExporter]:
    """Spans ended by the process-wide provider while this module runs."""
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # a provider cannot drop a processor; a stopped exporter keeps nothing


def _server_spans(exporter: InMemorySpanExporter, trace_id: str) -> list[str]:
    return [
        span.name
        for span in exporter.get_finished_spans()
        if span.kind == SpanKind.SERVER and format(span.context.trace_id, "032x") == trace_id
    ]


def test_an_outgoing_call_continues_the_incoming_trace(client: TestClient) -> None:
    outgoing.clear()
    response = client.get("/call-products", headers={"traceparent": INCOMING_TRACEPARENT})
    assert response.json() == {"trace_id": TRACE_ID}
    [request] = outgoing
    version, trace_id, parent_id, flags = request.headers["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert parent_id != PARENT_SPAN_ID  # the parent is this service's span, not the caller's


def test_a_request_without_traceparent_starts_a_trace_that_goes_downstream(
    client: TestClient,
) -> None:
    outgoing.clear()
    trace_id = client.get("/call-products").json()["trace_id"]
    [request] = outgoing
    assert trace_id != "0" * 32
    assert request.headers["traceparent"].split("-")[1] == trace_id


def test_probes_and_scrapes_are_not_traced_but_lookalike_routes_are(
    client: TestClient, finished_spans: InMemorySpanExporter
) -> None:
    for index, path in enumerate(["/health", "/ready", "/metrics", "/api/ready-meals"]):
        trace_id = f"{index + 1:032x}"
        client.get(path, headers={"traceparent": f"00-{trace_id}-{PARENT_SPAN_ID}-01"})
        expected = ["GET /api/ready-meals"] if path == "/api/ready-meals" else []
        assert _server_spans(finished_spans, trace_id) == expected, path


def test_an_unhandled_error_marks_the_server_span_failed(
    client: TestClient, finished_spans: InMemorySpanExporter
) -> None:
    trace_id = "c" * 32
    client.get("/crash", headers={"traceparent": f"00-{trace_id}-{PARENT_SPAN_ID}-01"})
    [span] = [
        span
        for span in finished_spans.get_finished_spans()
        if span.kind == SpanKind.SERVER and format(span.context.trace_id, "032x") == trace_id
    ]
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize(("flags", "recorded"), [("01", True), ("00", False)])
def test_the_callers_sampling_decision_is_followed(
    client: TestClient, finished_spans: InMemorySpanExporter, flags: str, recorded: bool
) -> None:
    outgoing.clear()
    trace_id = ("d" if recorded else "e") * 32
    client.get("/call-products", headers={"traceparent": f"00-{trace_id}-{PARENT_SPAN_ID}-{flags}"})
    assert _server_spans(finished_spans, trace_id) == (["GET /call-products"] if recorded else [])
    # Unsampled or not, the trace goes on downstream with the caller's decision.
    [request] = outgoing
    _version, downstream_trace, _parent, downstream_flags = request.headers["traceparent"].split(
        "-"
    )
    assert (downstream_trace, downstream_flags) == (trace_id, flags)


def test_new_traces_are_recorded_at_the_configured_ratio() -> None:
    def recorded(ratio: float) -> int:
        provider = _tracer_provider(CommonSettings(service_name="ratio", trace_sample_ratio=ratio))
        tracer = provider.get_tracer("test")
        count = 0
        for _ in range(2000):
            with tracer.start_as_current_span("root") as span:
                count += span.is_recording()
                assert span.get_span_context().is_valid  # its id still reaches the logs
        provider.shutdown()
        return count

    assert recorded(0.0) == 0
    assert recorded(1.0) == 2000
    assert 100 < recorded(0.1) < 300  # 200 expected; trace ids are random


def test_kafka_headers_carry_the_current_trace_and_read_back() -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        headers = kafka_headers_with_trace({"event_type": "order_created"})
    published = span.get_span_context()
    values = dict(headers)
    assert values["event_type"] == b"order_created"
    _version, trace_id, span_id, _flags = values["traceparent"].decode().split("-")
    assert (trace_id, span_id) == (
        format(published.trace_id, "032x"),
        format(published.span_id, "016x"),
    )
    restored = trace.get_current_span(context_from_kafka_headers(headers)).get_span_context()
    assert (restored.trace_id, restored.span_id) == (published.trace_id, published.span_id)
    assert restored.is_remote


def test_a_consumer_span_continues_the_producers_trace() -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("publish") as producer_span:
        headers = kafka_headers_with_trace()
    with tracer.start_as_current_span(
        "consume", context=context_from_kafka_headers(headers), kind=SpanKind.CONSUMER
    ) as consumer_span:
        assert (
            consumer_span.get_span_context().trace_id == producer_span.get_span_context().trace_id
        )


def test_outside_a_span_kafka_headers_hold_only_the_extras() -> None:
    assert kafka_headers_with_trace({"event_type": "x"}) == [("event_type", b"x")]
    assert kafka_headers_with_trace() == []


@pytest.mark.parametrize(
    "headers",
    [
        None,
        [],
        [("traceparent", b"garbage")],
        [("traceparent", None), ("event_type", b"order_paid")],
    ],
)
def test_records_without_a_usable_trace_give_an_empty_context(
    headers: list[tuple[str, bytes | None]] | None,
) -> None:
    span = trace.get_current_span(context_from_kafka_headers(headers))
    assert not span.get_span_context().is_valid


def test_header_names_from_other_producers_are_read_in_any_case() -> None:
    context = context_from_kafka_headers([("Traceparent", INCOMING_TRACEPARENT.encode())])
    assert format(trace.get_current_span(context).get_span_context().trace_id, "032x") == TRACE_ID


def test_configuring_again_keeps_the_first_provider() -> None:
    provider = trace.get_tracer_provider()
    configure_tracing(CommonSettings(service_name="another", tracing_enabled=True))
    assert trace.get_tracer_provider() is provider


collected: list[tuple[str, bytes]] = []  # (path, body) of each export the collector received


class _Collector(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        collected.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """A loopback OTLP/HTTP endpoint that keeps what it receives."""
    collected.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("enabled", [True, False])
def test_spans_reach_the_collector_only_when_tracing_is_enabled(
    collector: str, enabled: bool
) -> None:
    settings = CommonSettings(
        service_name="exporter-test",
        tracing_enabled=enabled,
        otel_exporter_otlp_endpoint=collector,
        trace_sample_ratio=1.0,
    )
    provider = _tracer_provider(settings)
    assert provider.resource.attributes["service.name"] == "exporter-test"
    with provider.get_tracer("test").start_as_current_span("checkout"):
        pass
    assert provider.force_flush(timeout_millis=5000)
    provider.shutdown()
    if enabled:
        [(path, body)] = collected
        assert path == "/v1/traces"
        assert b"exporter-test" in body
        assert b"checkout" in body
    else:
        assert collected == []


@pytest.mark.parametrize(
    ("traceparent", "tracestate"),
    [
        (INCOMING_TRACEPARENT, None),
        (f"00-{TRACE_ID}-{PARENT_SPAN_ID}-00", None),
        (f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01", "vendor=value"),
        (f"00-{'0' * 32}-{PARENT_SPAN_ID}-01", None),  # invalid: all-zero trace id
        (f"00-{TRACE_ID.upper()}-{PARENT_SPAN_ID}-01", None),  # not lowercase hex
        (f"01-{TRACE_ID}-{PARENT_SPAN_ID}-01-future", None),  # a later version
        ("garbage", None),
    ],
)
def test_the_incoming_traceparent_is_read_as_the_w3c_propagator_reads_it(
    traceparent: str, tracestate: str | None
) -> None:
    carrier = {"traceparent": traceparent} | ({"tracestate": tracestate} if tracestate else {})
    expected = trace.get_current_span(W3C.extract(carrier)).get_span_context()
    read = trace.get_current_span(
        _parent_context(traceparent.encode(), tracestate.encode() if tracestate else None)
    ).get_span_context()
    assert (read.trace_id, read.span_id, read.trace_flags, read.is_valid) == (
        expected.trace_id,
        expected.span_id,
        expected.trace_flags,
        expected.is_valid,
    )
    assert read.trace_state == expected.trace_state
