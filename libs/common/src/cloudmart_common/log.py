"""JSON log lines carrying service, request id and trace id, for the service and uvicorn alike."""

import logging
import sys
import time
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from cloudmart_common.context import current_request_id, current_user_id
from cloudmart_common.log_scrubbing import scrub
from cloudmart_common.settings import CommonSettings

_HANDLER_NAME = "cloudmart"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# ISO 8601 UTC to the millisecond with a `Z`: the format of event timestamps too.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_MSEC_FORMAT = "%s.%03dZ"


class _ContextFilter(logging.Filter):
    """Stamps each record with the service, the request id, the caller and the span's ids."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = current_request_id()
        record.user_id = current_user_id()
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


class _Scrubbing(logging.Formatter):
    """Formats with `inner`, then redacts secrets from the whole line (tracebacks included)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record))


def _formatter(log_format: str) -> logging.Formatter:
    formatter: logging.Formatter
    if log_format == "text":
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s %(trace_id)s %(user_id)s] "
            "%(message)s"
        )
    else:
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s "
            "%(user_id)s %(trace_id)s %(span_id)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
            # uvicorn adds an ANSI-coloured copy of some messages for its own console handler.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    formatter.default_time_format = _TIME_FORMAT
    formatter.default_msec_format = _MSEC_FORMAT
    formatter.converter = time.gmtime
    return _Scrubbing(formatter)


def configure_logging(settings: CommonSettings) -> None:
    """One stdout handler on the root logger, uvicorn's loggers routed to it. Idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StdoutHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_formatter(settings.log_format))
    handler.addFilter(_ContextFilter(settings.service_name))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        # `uvicorn --no-access-log` leaves the access logger without handlers and cut off
        # from the root; uvicorn checks hasHandlers(), so propagating would re-enable it.
        switched_off = not uvicorn_logger.handlers and not uvicorn_logger.propagate
        uvicorn_logger.handlers.clear()  # theirs would print every line a second time
        uvicorn_logger.propagate = not switched_off
        uvicorn_logger.setLevel(logging.NOTSET)  # LOG_LEVEL decides, not uvicorn's INFO
    # One line per outgoing request (the gateway: per proxied request) costs more than it
    # tells: the service_calls_total and gateway_upstream_* metrics count them.
    for chatty in ("httpx", "stripe"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
