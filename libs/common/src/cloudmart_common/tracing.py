"""OpenTelemetry: one tracer provider per process, W3C trace context over HTTP and Kafka headers."""

from collections.abc import Sequence

import httpx
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from cloudmart_common.settings import CommonSettings

_configured = False


def configure_tracing(settings: CommonSettings) -> None:
    """Spans always exist (so trace ids reach logs and downstream calls); export is opt-in."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.tracing_enabled and settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def instrument_app(app: FastAPI) -> None:
    """A server span per request, continuing an incoming `traceparent`."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health,/ready,/metrics")


def instrument_httpx_client(client: httpx.AsyncClient) -> None:
    """A client span per call, and `traceparent` on the outgoing request."""
    HTTPXClientInstrumentor.instrument_client(client)


def kafka_headers_with_trace(extra: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
    """The current trace context (traceparent, tracestate) as Kafka record headers."""
    carrier: dict[str, str] = dict(extra or {})
    propagate.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


def context_from_kafka_headers(
    headers: Sequence[tuple[str, bytes]] | None,
) -> otel_context.Context:
    carrier = {name: value.decode(errors="replace") for name, value in headers or ()}
    return propagate.extract(carrier)
