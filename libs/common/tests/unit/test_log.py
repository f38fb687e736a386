"""Log lines are JSON on stdout with the service, the request id and the trace of the request."""

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from cloudmart_common.context import user_id_var
from cloudmart_common.log import configure_logging
from cloudmart_common.settings import CommonSettings

SERVICE = "log-test"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
ISO_UTC_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

log = logging.getLogger("cloudmart.test.log")
router = APIRouter()


@router.get("/work")
async def work() -> dict[str, str]:
    log.info("doing the work", extra={"order_id": 7})
    return {"ok": "yes"}


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    # Built per test: create_service_app reconfigures logging, undoing a test's own settings.
    with TestClient(make_app(router, service_name=SERVICE)) as client:
        yield client


@pytest.fixture
def configure() -> Iterator[Callable[..., None]]:
    """configure_logging with some settings, and the JSON default back afterwards."""

    def configure(**settings: Any) -> None:
        configure_logging(CommonSettings(service_name=SERVICE, **settings))

    yield configure
    configure_logging(CommonSettings(service_name=SERVICE))


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _line(out: str, message: str) -> dict[str, Any]:
    [line] = [line for line in _json_lines(out) if line.get("message") == message]
    return line


def test_a_request_logs_json_with_service_request_id_and_its_trace(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = client.get("/work", headers={"X-Request-ID": "req-1"})
    line = _line(capsys.readouterr().out, "doing the work")
    assert line["service"] == SERVICE
    assert line["request_id"] == "req-1" == response.headers["x-request-id"]
    assert line["level"] == "INFO"
    assert line["logger"] == "cloudmart.test.log"
    assert line["order_id"] == 7
    assert ISO_UTC_MILLIS.fullmatch(line["timestamp"])
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"])
    assert line["trace_id"] != "0" * 32
    assert re.fullmatch(r"[0-9a-f]{16}", line["span_id"])


def test_an_incoming_traceparent_is_the_trace_id_of_the_requests_log_lines(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.get("/work", headers={"traceparent": INCOMING_TRACEPARENT})
    assert _line(capsys.readouterr().out, "doing the work")["trace_id"] == TRACE_ID


def test_outside_a_request_ids_are_null(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    capsys.readouterr()
    log.warning("background job")
    line = _line(capsys.readouterr().out, "background job")
    assert (line["service"], line["request_id"], line["trace_id"], line["span_id"]) == (
        SERVICE,
        None,
        None,
        None,
    )


def test_an_exception_is_logged_with_its_traceback(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    capsys.readouterr()
    try:
        raise ValueError("bad thing")
    except ValueError:
        log.exception("it failed")
    line = _line(capsys.readouterr().out, "it failed")
    assert line["level"] == "ERROR"
    assert "Traceback (most recent call last)" in line["exc_info"]
    assert "ValueError: bad thing" in line["exc_info"]


def test_text_format_is_for_humans(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure(log_format="text")
    capsys.readouterr()
    log.warning("readable")
    [line] = [line for line in capsys.readouterr().out.splitlines() if "readable" in line]
    assert not line.startswith("{")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING cloudmart\.test\.log ", line)


def test_the_level_comes_from_the_settings(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure(log_level="warning")
    capsys.readouterr()
    log.info("too chatty")
    logging.getLogger("uvicorn.error").info("uvicorn chatter")
    log.warning("worth saying")
    messages = [line["message"] for line in _json_lines(capsys.readouterr().out)]
    assert messages == ["worth saying"]


def test_configuring_twice_prints_each_line_once(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    configure()
    capsys.readouterr()
    log.warning("once")
    assert [line["message"] for line in _json_lines(capsys.readouterr().out)] == ["once"]


def test_uvicorns_loggers_print_through_the_same_handler_once(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    # What uvicorn's own logging config leaves behind before it calls the app factory.
    uvicorn_handler = logging.StreamHandler()
    logging.getLogger("uvicorn").addHandler(uvicorn_handler)
    logging.getLogger("uvicorn").propagate = False
    logging.getLogger("uvicorn.access").addHandler(uvicorn_handler)
    logging.getLogger("uvicorn.access").propagate = False
    configure()
    capsys.readouterr()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).info("from %s", name, extra={"color_message": "\x1b[1mfrom\x1b[0m"})
    lines = _json_lines(capsys.readouterr().out)
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn", "from uvicorn"),
        ("uvicorn.error", "from uvicorn.error"),
        ("uvicorn.access", "from uvicorn.access"),
    ]
    assert all(line["service"] == SERVICE for line in lines)
    assert not any("color_message" in line for line in lines)


def test_uvicorns_no_access_log_option_stays_in_force(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    access = logging.getLogger("uvicorn.access")
    # What `uvicorn --no-access-log` does; uvicorn then logs access only if hasHandlers().
    access.handlers = []
    access.propagate = False
    try:
        configure()
        assert not access.hasHandlers()
    finally:
        access.propagate = True


def test_no_secret_reaches_a_log_line(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    capsys.readouterr()
    log.warning("login for %s", {"username": "ann", "password": "hunter2-secret"})
    log.warning("charging", extra={"card_number": "4242424242424242", "token": "tok-secret"})
    try:
        raise ValueError("rejected Authorization: Bearer opaque-token-secret")
    except ValueError:
        log.exception("request failed")
    out = capsys.readouterr().out
    for secret in ("hunter2-secret", "4242424242424242", "tok-secret", "opaque-token-secret"):
        assert secret not in out
    assert len(_json_lines(out)) == 3  # still valid JSON after redaction


def test_the_callers_id_is_on_the_log_lines_of_its_request(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    capsys.readouterr()
    token = user_id_var.set("42")
    try:
        log.info("as a user")
    finally:
        user_id_var.reset(token)
    log.info("as nobody")
    out = capsys.readouterr().out
    assert _line(out, "as a user")["user_id"] == "42"
    assert _line(out, "as nobody")["user_id"] is None
