"""X-Request-ID: a well-formed incoming id is kept, others replaced; every response has one."""

import re
from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from cloudmart_common.context import current_request_id
from cloudmart_common.observed import ObservedRequests

GENERATED = re.compile(r"[0-9a-f]{32}")

router = APIRouter()


@router.get("/whoami")
async def whoami() -> dict[str, str | None]:
    return {"request_id": current_request_id()}


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("boom")


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app(router), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "incoming", ["checkout-42.retry:1", "4bf92f3577b34da6a3ce929d0e0e4736", "x" * 128, "A"]
)
def test_a_well_formed_incoming_id_is_echoed_and_is_the_requests_id(
    client: TestClient, incoming: str
) -> None:
    response = client.get("/whoami", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    assert response.json() == {"request_id": incoming}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("x" * 129, id="too-long"),
        pytest.param("", id="empty"),
        pytest.param("has space", id="space"),
        pytest.param('quote"', id="quote"),
        pytest.param("semi;colon", id="semicolon"),
        pytest.param("caf\u00e9".encode(), id="non-ascii"),
        pytest.param("ok\r\nSet-Cookie: session=stolen", id="header-injection"),
        pytest.param("ok\n", id="trailing-newline"),
        pytest.param('ok", "level": "CRITICAL', id="log-forging"),
    ],
)
def test_a_malformed_incoming_id_is_replaced_by_a_generated_one(
    client: TestClient, bad: str | bytes
) -> None:
    raw = bad if isinstance(bad, bytes) else bad.encode("latin-1")
    response = client.get("/whoami", headers=[(b"X-Request-ID", raw)])
    generated = response.headers["x-request-id"]
    assert GENERATED.fullmatch(generated)
    assert response.json() == {"request_id": generated}
    assert "set-cookie" not in response.headers


def test_without_an_incoming_id_each_request_gets_its_own(client: TestClient) -> None:
    first = client.get("/whoami").headers["x-request-id"]
    second = client.get("/whoami").headers["x-request-id"]
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/crash", 500), ("GET", "/nowhere", 404), ("POST", "/whoami", 405)],
)
def test_error_responses_carry_the_id_too(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, headers={"X-Request-ID": "trace-me"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "trace-me"
    assert response.json()["request_id"] == "trace-me"


def test_operational_endpoints_carry_the_id(client: TestClient) -> None:
    for path in ("/health", "/ready", "/metrics"):
        assert client.get(path, headers={"X-Request-ID": "probe-1"}).headers["x-request-id"] == (
            "probe-1"
        )


async def test_the_id_is_set_only_while_the_request_runs() -> None:
    seen: list[str | None] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_request_id())
        # ASGI allows a response start without headers.
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"x-request-id", b"raw-asgi-1")],
    }
    await ObservedRequests(app)(scope, receive, send)
    assert seen == ["raw-asgi-1"]
    assert (b"x-request-id", b"raw-asgi-1") in sent[0]["headers"]
    assert current_request_id() is None


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(current_request_id())

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing to send")

    await ObservedRequests(app)({"type": "lifespan"}, receive, send)
    assert seen == [None]
