"""OpenTelemetry: one tracer provider per process, W3C trace context over HTTP and Kafka headers.

Spans: incoming HTTP (observed.py), outgoing HTTP (httpx), SQL (SQLAlchemy), Redis, DynamoDB
(botocore events), Kafka produce (outbox relay) and consume (EventConsumer). Exported over OTLP
when a collector is configured, or as JSON lines to a file (`TRACE_FILE`, the local stack).
"""

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import DEPLOYMENT_ENVIRONMENT, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util import ns_to_iso_str
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from redis.asyncio.client import Pipeline, Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmart_common.settings import CommonSettings

_configured = False
tracer = trace.get_tracer(__name__)

TRACE_FILE_MAX_BYTES = 50 * 1024 * 1024  # then rotated to `<file>.1`: one old file kept


class _SpanFile:
    """The text stream ConsoleSpanExporter writes to: a file, rotated when it grows too big."""

    def __init__(self, path: Path, max_bytes: int = TRACE_FILE_MAX_BYTES) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._lock = threading.Lock()  # the batch processor's thread and shutdown's
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        # Counted here: tell() on a text file flushes and re-reads its position every span.
        self._size = path.stat().st_size

    def write(self, text: str) -> int:
        with self._lock:
            if self._size > self._max_bytes:
                self._file.close()
                os.replace(self._path, self._path.with_name(self._path.name + ".1"))
                self._file = self._path.open("a", encoding="utf-8")
                self._size = 0
            self._size += len(text)  # characters: close enough to bytes for a size limit
            return self._file.write(text)

    def flush(self) -> None:
        with self._lock:
            self._file.flush()


class _SpanLines:
    """A span as one JSON line, in `ReadableSpan.to_json`'s shape.

    to_json re-encodes the process's resource for every span (through an indented dump and a
    parse): a fifth of a service's CPU under load. Here it is encoded once per resource.
    """

    def __init__(self) -> None:
        self._resources: dict[int, str] = {}

    def _resource(self, resource: Resource) -> str:
        key = id(resource)
        if key not in self._resources:
            self._resources[key] = json.dumps(
                {"attributes": dict(resource.attributes), "schema_url": resource.schema_url},
                separators=(",", ":"),
                default=str,
            )
        return self._resources[key]

    def __call__(self, span: ReadableSpan) -> str:
        status: dict[str, str] = {"status_code": span.status.status_code.name}
        if span.status.description:
            status["description"] = span.status.description
        line = json.dumps(
            {
                "name": span.name,
                "context": _span_context(span.context) if span.context else None,
                "kind": str(span.kind),
                "parent_id": f"0x{trace.format_span_id(span.parent.span_id)}"
                if span.parent
                else None,
                "start_time": _iso(span.start_time),
                "end_time": _iso(span.end_time),
                "status": status,
                "attributes": dict(span.attributes or {}),
                "events": [
                    {
                        "name": event.name,
                        "timestamp": _iso(event.timestamp),
                        "attributes": dict(event.attributes or {}),
                    }
                    for event in span.events
                ],
                "links": [
                    {
                        "context": _span_context(link.context),
                        "attributes": dict(link.attributes or {}),
                    }
                    for link in span.links
                ],
            },
            separators=(",", ":"),
            default=str,
        )
        return f'{line[:-1]},"resource":{self._resource(span.resource)}}}\n'


def _span_context(context: SpanContext) -> dict[str, str]:
    return {
        "trace_id": f"0x{trace.format_trace_id(context.trace_id)}",
        "span_id": f"0x{trace.format_span_id(context.span_id)}",
        "trace_state": repr(context.trace_state),
    }


def _iso(nanoseconds: int | None) -> str | None:
    return None if nanoseconds is None else ns_to_iso_str(nanoseconds)


def _tracer_provider(settings: CommonSettings) -> TracerProvider:
    resource = Resource.create(
        {SERVICE_NAME: settings.service_name, DEPLOYMENT_ENVIRONMENT: settings.environment}
    )
    # A share of new traces is recorded; a caller's decision is always followed, so a request
    # arriving with a sampled `traceparent` (a test following one checkout) is traced in
    # every service it reaches, and an unsampled one in none.
    sampler = ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    if settings.tracing_enabled and settings.otel_exporter_otlp_endpoint:
        # Imported only when exporting: it pulls in protobuf and requests.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; each signal has its path.
        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.trace_file is not None:
        exporter = ConsoleSpanExporter(out=_SpanFile(settings.trace_file), formatter=_SpanLines())  # type: ignore[arg-type]
        provider.add_span_processor(BatchSpanProcessor(exporter))
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
    _instrument_redis()
    _configured = True


# Client spans of Redis and SQL are made here, and only inside a recorded trace. The
# OpenTelemetry instrumentations make a span (recording or not), enter and leave it as the
# current one, for every command of every request: a tenth of the gateway's CPU went there
# (ADR 0017), for spans that sampling then dropped.


def _instrument_redis() -> None:
    """A client span per command and per pipeline of every asyncio redis-py client."""
    if getattr(Redis.execute_command, "_cloudmart_traced", False):
        return
    # redis-py's methods are untyped: called through Any.
    command: Any = Redis.execute_command
    pipeline: Any = Pipeline.execute

    async def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        if not trace.get_current_span().is_recording():
            return await command(self, *args, **options)
        name = str(args[0]).upper() if args else "COMMAND"
        with tracer.start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes={"db.system": "redis", "db.operation.name": name},
        ):
            return await command(self, *args, **options)

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        if not trace.get_current_span().is_recording():
            return await pipeline(self, raise_on_error)
        names = " ".join(str(c[0][0]).upper() for c in self.command_stack if c[0])
        with tracer.start_as_current_span(
            "PIPELINE",
            kind=SpanKind.CLIENT,
            attributes={"db.system": "redis", "db.operation.name": f"PIPELINE {names}"[:200]},
        ):
            return await pipeline(self, raise_on_error)

    execute_command._cloudmart_traced = True  # type: ignore[attr-defined]
    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]


_SQL_SPAN = "cloudmart_span"


def sql_span(database: str | None, statement: str) -> trace.Span | None:
    """A started client span for one SQL statement inside a recorded trace; None outside one."""
    if not trace.get_current_span().is_recording():
        return None
    operation = statement.lstrip().split(None, 1)[0].upper() if statement else "SQL"
    return tracer.start_span(
        f"{operation} {database}",
        kind=SpanKind.CLIENT,
        attributes={
            "db.system": "postgresql",
            "db.name": database or "",
            "db.statement": statement[:2000],
        },
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """A client span per SQL statement (the statement without its parameters)."""
    sync_engine = engine.sync_engine
    database = sync_engine.url.database

    @event.listens_for(sync_engine, "before_cursor_execute")
    def started(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        span = sql_span(database, statement)
        if span is not None:
            _conn.info[_SQL_SPAN] = span

    @event.listens_for(sync_engine, "after_cursor_execute")
    def finished(_conn: Any, *_: Any) -> None:
        span = _conn.info.pop(_SQL_SPAN, None)
        if span is not None:
            span.end()

    @event.listens_for(sync_engine, "handle_error")
    def failed(context: Any) -> None:
        span = context.connection.info.pop(_SQL_SPAN, None) if context.connection else None
        if span is not None:
            end_failed_span(span, context.original_exception)


def end_failed_span(span: trace.Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


def instrument_aws_client(client: Any) -> None:
    """A client span per AWS call (DynamoDB...), from botocore's own before/after-call events.

    aiobotocore makes its calls itself, so the botocore instrumentation never sees them.
    """
    events = client.meta.events

    def before(model: Any, context: dict[str, Any], **_: Any) -> None:
        if not trace.get_current_span().is_recording():
            return
        service = model.service_model.service_id.hyphenize()
        context["cloudmart_span"] = tracer.start_span(
            f"{service}.{model.name}",
            kind=SpanKind.CLIENT,
            attributes={"rpc.system": "aws-api", "rpc.service": service, "rpc.method": model.name},
        )

    def after(context: dict[str, Any], http_response: Any, **_: Any) -> None:
        span = context.pop("cloudmart_span", None)
        if span is not None:
            span.set_attribute("http.response.status_code", http_response.status_code)
            if http_response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR))
            span.end()

    def failed(context: dict[str, Any], exception: BaseException, **_: Any) -> None:
        span = context.pop("cloudmart_span", None)
        if span is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
            span.end()

    events.register("before-call.*.*", before)
    events.register("after-call.*.*", after)
    events.register("after-call-error.*.*", failed)


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
