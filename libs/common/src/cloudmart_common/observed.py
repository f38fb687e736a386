"""What every request of every service passes through, once: its id, its server span, its RED
metrics, and the last-resort 500.

One pure-ASGI layer instead of four (request id, metrics, unhandled errors and the
OpenTelemetry ASGI instrumentation each wrapped `send` and walked the headers again): ADR 0017
measured the four at about a third of a cached product read's CPU. The span is sampled
(tracing.py: parent-based ratio), and an unsampled span costs an id and a context switch, no
attributes: its trace id still reaches the logs and the downstream `traceparent`.
"""

import random
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudmart_common.context import request_id_var
from cloudmart_common.metrics import (
    HTTP_DURATION,
    HTTP_IN_FLIGHT,
    HTTP_REQUESTS,
    UNMATCHED_ROUTE,
    route_of,
)
from cloudmart_common.problem_details import answer_unhandled, log_unhandled
from cloudmart_common.request_id import accepted_request_id

# Set in the scope by the outermost ObservedRequests: an inner one lets the request pass.
OBSERVED_KEY = "cloudmart.observed"
# Probes and scrapes, every few seconds from every prober: noise in a trace store.
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})

_REQUEST_ID = b"x-request-id"
_TRACEPARENT = b"traceparent"
_TRACESTATE = b"tracestate"
_W3C = TraceContextTextMapPropagator()
_HEX = frozenset(b"0123456789abcdef")
_tracer = trace.get_tracer("cloudmart.http")


class ObservedRequests:
    """Outermost middleware of every service (the services' own layers sit inside it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # prometheus_client's labels() takes a lock and builds a key each call: one child
        # per label set, kept here, is a dictionary lookup.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get(OBSERVED_KEY):
            # A fast path's ObservedRequests handed this request to the FastAPI app
            # (fast_path.fall_through): it has its id, span and count already.
            await _already_observed(self.app, scope, receive, send)
            return
        scope[OBSERVED_KEY] = True
        incoming_id = traceparent = tracestate = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                incoming_id = value
            elif name == _TRACEPARENT:
                traceparent = value
            elif name == _TRACESTATE:
                tracestate = value
        # A correlation id, not a secret: the PRNG, not uuid4's os.urandom syscall per request.
        request_id = accepted_request_id(incoming_id) or f"{random.getrandbits(128):032x}"
        id_header = (_REQUEST_ID, request_id.encode())
        method: str = scope["method"]
        status = 500
        started = False

        async def observed_send(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                # The gateway relays its upstream's copy: one id per response, this one.
                headers = [h for h in message.get("headers", ()) if h[0] != _REQUEST_ID]
                headers.append(id_header)
                message["headers"] = headers
            await send(message)

        traced = scope["path"] not in UNTRACED_PATHS
        span = None
        context_token = None
        if traced:
            parent = _parent_context(traceparent, tracestate) if traceparent else None
            span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
            context_token = otel_context.attach(trace.set_span_in_context(span, parent))
        id_token = request_id_var.set(request_id)
        HTTP_IN_FLIGHT.inc()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, observed_send)
        except Exception as error:
            if started:
                log_unhandled(method, scope["path"], error)
                raise  # too late for a problem document; the server closes the connection
            await answer_unhandled(method, scope["path"], error)(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - began
            HTTP_IN_FLIGHT.dec()
            route = route_of(scope)
            self._count(method, route, status, elapsed)
            if span is not None:
                if span.is_recording():
                    _describe(span, scope, method, route, status)
                span.end()
            if context_token is not None:
                otel_context.detach(context_token)
            request_id_var.reset(id_token)

    def _count(self, method: str, route: str, status: int, elapsed: float) -> None:
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[(method, route, status)] = HTTP_REQUESTS.labels(
                method, route, str(status)
            )
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self._histograms[(method, route)] = HTTP_DURATION.labels(method, route)
        counter.inc()
        histogram.observe(elapsed)


async def _already_observed(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """The last resort only, where FastAPI would otherwise answer (and log the error three
    times in its outer layers); once the answer has started, the outer layer logs it."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except Exception as error:
        if started:
            raise
        await answer_unhandled(scope["method"], scope["path"], error)(scope, receive, send)


def _parent_context(traceparent: bytes, tracestate: bytes | None) -> otel_context.Context:
    """The caller's span context from a W3C `traceparent` of the common form (version 00,
    lowercase hex), read directly; anything else through the propagator, which applies the
    spec's rules (and ignores what it cannot read). The propagator's regex per request was
    a tenth of a service's cost of handling an internal call (ADR 0017)."""
    parts = traceparent.split(b"-")
    if tracestate is None and len(parts) == 4 and parts[0] == b"00":
        trace_id, span_id, flags = parts[1], parts[2], parts[3]
        if (
            len(trace_id) == 32
            and len(span_id) == 16
            and len(flags) == 2
            and _HEX.issuperset(trace_id + span_id + flags)
        ):
            context = SpanContext(
                int(trace_id, 16),
                int(span_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(int(flags, 16)),
            )
            if context.is_valid:
                return trace.set_span_in_context(NonRecordingSpan(context))
            return otel_context.Context()
    carrier = {"traceparent": traceparent.decode("latin-1")}
    if tracestate is not None:
        carrier["tracestate"] = tracestate.decode("latin-1")
    return _W3C.extract(carrier)


def _describe(span: Any, scope: Scope, method: str, route: str, status: int) -> None:
    """The attributes of a sampled server span (semantic conventions for HTTP servers)."""
    matched = route != UNMATCHED_ROUTE
    span.update_name(f"{method} {route}" if matched else method)
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "http.response.status_code": status,
    }
    if matched:
        attributes["http.route"] = route
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    span.set_attributes(attributes)
    # An unhandled error set the status already, with the exception's type: keep it.
    if status >= 500 and span.status.status_code is StatusCode.UNSET:
        span.set_status(Status(StatusCode.ERROR))
