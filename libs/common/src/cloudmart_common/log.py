"""JSON log lines carrying service, request id and trace id, for the service and uvicorn alike."""

import logging
import sys
import time
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from cloudmart_common.context import current_request_id
from cloudmart_common.settings import CommonSettings

_HANDLER_NAME = "cloudmart"


class _ContextFilter(logging.Filter):
    """Stamps each record with the service, the request id and the current span's ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = current_request_id()
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else None
        record.span_id = format(span.span_id, "016x") if span.is_valid else None
        return True


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is now (pytest's capture swaps it after start-up)."""

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "text":
        return logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(service)s %(request_id)s] %(message)s"
        )
    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s "
        "%(trace_id)s %(span_id)s",
        rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
    )
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"  # ISO 8601, with milliseconds and Z:
    formatter.default_msec_format = "%s.%03dZ"
    formatter.converter = time.gmtime  # timestamps in UTC, as everywhere else
    return formatter


def configure_logging(settings: CommonSettings) -> None:
    """One stdout handler on the root logger; uvicorn's loggers propagate to it. Idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StdoutHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_formatter(settings.log_format))
    handler.addFilter(_ContextFilter(settings.service_name))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()  # theirs would print every line a second time
        uvicorn_logger.propagate = True
