"""OpenTelemetry: one tracer provider per process, W3C trace context over HTTP and Kafka headers."""

import re
from collections.abc import Sequence

import httpx
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import DEPLOYMENT_ENVIRONMENT, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from cloudmart_common.settings import CommonSettings

UNTRACED_PATHS = ("/health", "/ready", "/metrics")  # probes and scrapes: noise, every few seconds

# The instrumentation matches these regexes anywhere in the full URL: anchored, so that
# `/api/ready-meals` is still traced.
_EXCLUDED_URLS = ",".join(rf"^[a-z]+://[^/]+{re.escape(path)}$" for path in UNTRACED_PATHS)

_configured = False


def _tracer_provider(settings: CommonSettings) -> TracerProvider:
    resource = Resource.create(
        {SERVICE_NAME: settings.service_name, DEPLOYMENT_ENVIRONMENT: settings.environment}
    )
    provider = TracerProvider(resource=resource)
    if settings.tracing_enabled and settings.otel_exporter_otlp_endpoint:
        # Imported only when exporting: it pulls in protobuf and requests.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; each signal has its path.
        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def configure_tracing(settings: CommonSettings) -> None:
    """Spans always exist (so trace ids reach logs and downstream calls); export is opt-in.

    The first call in a process wins: OpenTelemetry allows one global provider, and tests
    build many apps.
    """
    global _configured
    if _configured:
        return
    trace.set_tracer_provider(_tracer_provider(settings))
    _configured = True


def instrument_app(app: FastAPI) -> None:
    """A server span per request, continuing an incoming `traceparent`."""
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=_EXCLUDED_URLS,
        # No extra span per body chunk sent or received: they double the spans exported.
        exclude_spans=["receive", "send"],
    )


def instrument_httpx_client(client: httpx.AsyncClient) -> None:
    """A client span per call, and `traceparent` on the outgoing request."""
    HTTPXClientInstrumentor.instrument_client(client)


def kafka_headers_with_trace(extra: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
    """Kafka record headers: `extra` plus the current trace context (traceparent, tracestate)."""
    carrier: dict[str, str] = dict(extra or {})
    propagate.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


def context_from_kafka_headers(
    headers: Sequence[tuple[str, bytes | None]] | None,
) -> otel_context.Context:
    """The trace context a record's producer was in; an empty context when it carries none."""
    # Kafka header values may be null, and producers outside Python may capitalise names.
    carrier = {
        name.lower(): value.decode(errors="replace")
        for name, value in headers or ()
        if value is not None
    }
    return propagate.extract(carrier)
