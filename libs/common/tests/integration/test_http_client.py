"""The service client against real loopback upstreams: retries, breaker, deadlines, tokens."""

import asyncio
import contextlib
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, use_span
from prometheus_client import REGISTRY

from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.context import request_id_var
from cloudmart_common.http_client import ServiceClient, ServiceResponse
from cloudmart_common.settings import CommonSettings


class Upstream:
    """A service that fails on cue and remembers what it was sent, per path."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.failures_left: dict[str, int] = defaultdict(int)
        self.headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        # Every header line as sent, repeats included: a dict would hide a duplicate.
        self.raw_headers: dict[str, list[list[tuple[str, str]]]] = defaultdict(list)
        self.bodies: dict[str, list[bytes]] = defaultdict(list)
        self.queries: dict[str, list[list[tuple[str, str]]]] = defaultdict(list)
        self.app = FastAPI()
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app.api_route("/{name}", methods=methods)(self.handle)

    async def handle(self, name: str, request: Request) -> Response:
        self.calls[name] += 1
        self.headers[name].append(dict(request.headers))
        self.raw_headers[name].append(
            [(key.decode(), value.decode()) for key, value in request.headers.raw]
        )
        self.bodies[name].append(await request.body())
        self.queries[name].append(list(request.query_params.multi_items()))
        if self.failures_left[name] > 0:
            self.failures_left[name] -= 1
            return Response(status_code=503)
        match name:
            case "slow":
                await asyncio.sleep(2)
            case "trickle":
                chunks = int(request.query_params.get("chunks", 30))
                return StreamingResponse(_trickle(chunks), media_type="text/plain")
            case "latin":
                return Response("café".encode("latin-1"), media_type="text/plain; charset=latin-1")
            case "moved":
                return RedirectResponse("/fine", status_code=307)
            case "missing":
                return Response(status_code=404)
            case "always-503":
                return Response(status_code=503)
            case "boom":
                return Response(status_code=500)
            case "auth" if request.headers.get("authorization") != "Bearer fresh":
                return Response(status_code=401)
            case "locked":
                return Response(status_code=401)
            case "scoped" if request.headers.get("authorization") != "Bearer fresh":
                return JSONResponse({"error": "insufficient_scope"}, status_code=403)
            case "forbidden":
                return JSONResponse({"error": "forbidden"}, status_code=403)
        return Response(content=b'{"ok": true}', media_type="application/json")


async def _trickle(chunks: int) -> AsyncIterator[bytes]:
    """An answer that never pauses long enough for a read timeout: 0.1 s per chunk (30: 3 s)."""
    for _ in range(chunks):
        yield b"."
        await asyncio.sleep(0.1)


class RawServer:
    """A server that reads each request, writes `answer` (if any) and closes the connection:
    without one it hangs up; with one that is not HTTP it garbles."""

    def __init__(self, answer: bytes = b"") -> None:
        self.answer = answer
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            if self.answer:
                writer.write(self.answer)
                await writer.drain()
        writer.close()


class RotatingTokens:
    """A TokenSource whose token is stale until invalidated."""

    def __init__(self) -> None:
        self.current = "stale"
        self.invalidated = 0

    async def token(self) -> str:
        return self.current

    def invalidate(self) -> None:
        self.invalidated += 1
        self.current = "fresh"


@pytest.fixture
def upstream(serve: Callable[[Any], str]) -> tuple[Upstream, str]:
    server = Upstream()
    return server, serve(server.app)


async def _listening(server: RawServer) -> AsyncIterator[tuple[RawServer, str]]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    yield server, f"http://127.0.0.1:{port}"
    listener.close()
    await listener.wait_closed()


@pytest.fixture
async def hanging_up() -> AsyncIterator[tuple[RawServer, str]]:
    async for listening in _listening(RawServer()):
        yield listening


@pytest.fixture
async def garbling() -> AsyncIterator[tuple[RawServer, str]]:
    async for listening in _listening(RawServer(b"HTTP/1.1 two hundred OK\r\n\r\n")):
        yield listening


@pytest.fixture
def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here once the probe is closed


def _settings(**overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "service_call_retries": 3,
        "breaker_failure_threshold": 3,
        "breaker_recovery_seconds": 1,
        "service_call_timeout_seconds": 5,
    }
    return CommonSettings(**(values | overrides))


async def _open_breaker(client: ServiceClient, path: str, failures: int) -> None:
    for _ in range(failures):
        with pytest.raises(UpstreamUnavailable, match="answered 503"):
            await client.get(path)


async def _first_call_through_the_breaker(client: ServiceClient, path: str) -> ServiceResponse:
    """Polls until the breaker lets a call through: it answers, or fails other than open."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return await client.get(path)
        except UpstreamUnavailable as exc:
            if "circuit open" not in exc.detail:
                raise
        assert time.monotonic() < deadline, "the breaker never half-opened"
        await asyncio.sleep(0.05)


async def test_a_get_is_retried_through_transient_503s(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    server.failures_left["flaky"] = 2
    async with ServiceClient("products", base, _settings()) as client:
        response = await client.get("/flaky")
    assert (response.status_code, response.json(), server.calls["flaky"]) == (200, {"ok": True}, 3)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_call_without_an_idempotency_key_is_attempted_once_on_a_503(
    upstream: tuple[Upstream, str], method: str
) -> None:
    server, base = upstream
    async with ServiceClient("payments", base, _settings()) as client:
        with pytest.raises(UpstreamUnavailable, match="payments answered 503"):
            await client.request(method, "/always-503", json={"amount": "10.00"})
    assert server.calls["always-503"] == 1


async def test_a_post_whose_connection_drops_is_not_repeated_but_a_get_is(
    hanging_up: tuple[RawServer, str],
) -> None:
    server, base = hanging_up
    async with ServiceClient("payments", base, _settings(breaker_failure_threshold=10)) as client:
        with pytest.raises(UpstreamUnavailable, match="did not answer"):
            await client.post("/charge", json={"amount": "10.00"})
        assert server.connections == 1
        with pytest.raises(UpstreamUnavailable, match="did not answer"):
            await client.get("/charges/1")
    assert server.connections == 1 + 3


async def test_connection_refused_is_an_outage_and_a_post_is_sent_once(refused_url: str) -> None:
    sent: list[str] = []

    async def record(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        sent.append(params.method)

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(record)
    # An injected session, as when a service shares one pool between its upstreams.
    async with aiohttp.ClientSession(trace_configs=[tracing]) as shared:
        settings = _settings(breaker_failure_threshold=10)
        async with ServiceClient("payments", refused_url, settings, session=shared) as client:
            started = time.perf_counter()
            with pytest.raises(
                UpstreamUnavailable, match=r"did not answer \(ClientConnectorError\)$"
            ) as raised:
                await client.post("/charge", json={})
            assert time.perf_counter() - started < 1
            with pytest.raises(UpstreamUnavailable, match="did not answer"):
                await client.get("/charges/1")
        assert sent == ["POST", "GET", "GET", "GET"]
        assert not shared.closed  # the pool belongs to whoever injected it
        # Neither the address nor the OS's wording reaches the problem document.
        assert "127.0.0.1" not in raised.value.detail


async def test_an_answer_that_is_not_http_is_an_outage_and_a_get_is_retried(
    garbling: tuple[RawServer, str],
) -> None:
    server, base = garbling
    async with ServiceClient("products", base, _settings(breaker_failure_threshold=10)) as client:
        with pytest.raises(UpstreamUnavailable, match=r"did not answer \(ClientResponseError\)$"):
            await client.get("/products/1")
        assert server.connections == 3
        with pytest.raises(UpstreamUnavailable, match="did not answer"):
            await client.post("/charge", json={})
    assert server.connections == 3 + 1


async def test_a_post_with_an_idempotency_key_is_retried_and_carries_the_key(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    server.failures_left["charge"] = 2
    async with ServiceClient("payments", base, _settings()) as client:
        response = await client.post("/charge", json={"amount": "10.00"}, idempotency_key="ord-7")
    assert (response.status_code, server.calls["charge"]) == (200, 3)
    assert [sent["idempotency-key"] for sent in server.headers["charge"]] == ["ord-7"] * 3


async def test_a_500_is_an_outage_but_not_retried_even_on_a_get(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        with pytest.raises(UpstreamUnavailable, match="products answered 500") as raised:
            await client.get("/boom")
    assert server.calls["boom"] == 1
    assert raised.value.upstream == "products"


async def test_a_404_is_returned_not_retried_and_not_a_breaker_failure(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        for _ in range(5):  # more than the breaker's threshold
            assert (await client.get("/missing")).status_code == 404
        assert (await client.get("/fine")).status_code == 200
    assert (server.calls["missing"], server.calls["fine"]) == (5, 1)


async def test_the_breaker_opens_fails_fast_half_opens_and_closes(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    server.failures_left["recovering"] = 3
    async with ServiceClient("products", base, _settings(service_call_retries=1)) as client:
        await _open_breaker(client, "/recovering", failures=3)
        opened_at = time.monotonic()

        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.get("/recovering")
        assert time.perf_counter() - started < 0.1  # the timeout is 5 s
        assert server.calls["recovering"] == 3  # open: the upstream was not asked

        response = await _first_call_through_the_breaker(client, "/recovering")
        assert response.status_code == 200
        assert time.monotonic() - opened_at >= 0.9  # not before the recovery time (1 s)
        assert server.calls["recovering"] == 4  # a single trial call while half-open

        assert (await client.get("/recovering")).status_code == 200  # closed again
    assert server.calls["recovering"] == 5


async def test_a_failed_trial_call_opens_the_breaker_again(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    server.failures_left["still-down"] = 4
    async with ServiceClient("products", base, _settings(service_call_retries=1)) as client:
        await _open_breaker(client, "/still-down", failures=3)
        with pytest.raises(UpstreamUnavailable, match="answered 503"):
            await _first_call_through_the_breaker(client, "/still-down")
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.get("/still-down")
    assert server.calls["still-down"] == 4


async def test_the_breaker_opening_stops_the_remaining_retries(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    settings = _settings(service_call_retries=3, breaker_failure_threshold=2)
    async with ServiceClient("products", base, settings) as client:
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.get("/always-503")
    assert server.calls["always-503"] == 2  # the third attempt met the open breaker


async def test_one_upstreams_open_breaker_does_not_affect_another(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    settings = _settings(service_call_retries=1)
    async with (
        ServiceClient("payments", base, settings) as payments,
        ServiceClient("products", base, settings) as products,
    ):
        await _open_breaker(payments, "/always-503", failures=3)
        with pytest.raises(UpstreamUnavailable, match="payments is failing"):
            await payments.get("/fine")
        assert (await products.get("/fine")).status_code == 200
    assert server.calls["fine"] == 1


async def test_callers_giving_up_do_not_open_the_breaker(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        for _ in range(3):  # as many as the threshold: cancelled by the caller, not failed
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get("/slow"), timeout=0.05)
        assert (await client.get("/fine")).status_code == 200
    assert server.calls["fine"] == 1


async def test_a_timeout_is_an_outage_and_a_get_is_retried(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    settings = _settings(service_call_timeout_seconds=0.3, service_call_retries=2)
    async with ServiceClient("products", base, settings) as client:
        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailable, match=r"products did not answer within 0\.3 s"):
            await client.get("/slow")
    assert time.perf_counter() - started < 1.5  # the upstream would have taken 2 s per call
    assert server.calls["slow"] == 2


async def test_a_streamed_answer_is_read_whole_before_it_is_returned(
    upstream: tuple[Upstream, str],
) -> None:
    _, base = upstream
    settings = _settings(service_call_timeout_seconds=2, service_call_retries=1)
    async with ServiceClient("products", base, settings) as client:
        response = await client.get("/trickle", params={"chunks": 5})
    # Unsized (chunked) and slow, yet complete once returned: the connection is back in the
    # pool by then, so nothing could be read later.
    assert (response.status_code, response.content, response.text) == (200, b".....", ".....")


async def test_a_trickling_answer_is_cut_at_the_call_deadline(
    upstream: tuple[Upstream, str],
) -> None:
    _, base = upstream
    settings = _settings(service_call_timeout_seconds=0.5, service_call_retries=1)
    async with ServiceClient("products", base, settings) as client:
        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailable, match=r"did not answer within 0\.5 s"):
            await client.get("/trickle")
    assert time.perf_counter() - started < 1.5  # the whole answer takes 3 s


async def test_request_id_and_traceparent_reach_the_upstream(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    trace_id, span_id = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
    # A span of a caller's trace, without configuring a tracer provider: propagation must
    # not depend on one.
    span = NonRecordingSpan(
        SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    )
    async with ServiceClient("products", base, _settings()) as client:
        await client.get("/untraced")
        token = request_id_var.set("req-123")
        try:
            with use_span(span):
                await client.get("/traced")
        finally:
            request_id_var.reset(token)
    [traced] = server.headers["traced"]
    assert traced["x-request-id"] == "req-123"
    assert traced["traceparent"] == f"00-{trace_id:032x}-{span_id:016x}-01"
    [untraced] = server.headers["untraced"]
    assert "x-request-id" not in untraced
    assert "traceparent" not in untraced


async def test_a_401_renews_the_service_token_and_tries_once_more(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    tokens = RotatingTokens()
    async with ServiceClient("users", base, _settings(), token_source=tokens) as client:
        response = await client.post("/auth", json={})  # not idempotent, yet refused unread
    assert (response.status_code, tokens.invalidated) == (200, 1)
    sent = [headers["authorization"] for headers in server.headers["auth"]]
    assert sent == ["Bearer stale", "Bearer fresh"]


async def test_a_403_for_a_missing_scope_renews_the_token_once_and_another_403_does_not(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    tokens = RotatingTokens()
    async with ServiceClient("users", base, _settings(), token_source=tokens) as client:
        scoped = await client.post("/scoped", json={})  # a token from before the grant
        forbidden = await client.get("/forbidden")
    assert (scoped.status_code, forbidden.status_code, tokens.invalidated) == (200, 403, 1)
    assert server.calls["forbidden"] == 1


async def test_a_second_401_is_returned_to_the_caller(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    tokens = RotatingTokens()
    async with ServiceClient("users", base, _settings(), token_source=tokens) as client:
        response = await client.get("/locked")
    assert (response.status_code, tokens.invalidated, server.calls["locked"]) == (401, 1, 2)


async def test_calls_are_counted_by_outcome(upstream: tuple[Upstream, str]) -> None:
    _, base = upstream
    upstream_name = "metrics-probe"  # the registry is process-wide: a name no other test uses

    def count(outcome: str) -> float | None:
        labels = {"upstream": upstream_name, "method": "GET", "outcome": outcome}
        return REGISTRY.get_sample_value("service_calls_total", labels)

    async with ServiceClient(upstream_name, base, _settings(service_call_retries=1)) as client:
        await client.get("/fine")
        await client.get("/missing")
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable):
                await client.get("/boom")
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.get("/boom")
    outcomes = ["success", "client_error", "server_error", "breaker_open"]
    assert [count(outcome) for outcome in outcomes] == [1, 1, 3, 1]
    duration_labels = {"upstream": upstream_name, "method": "GET"}
    assert REGISTRY.get_sample_value("service_call_duration_seconds_count", duration_labels) == 5


async def test_headers_are_case_insensitive_and_a_callers_authorization_is_replaced(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    tokens = RotatingTokens()
    tokens.current = "fresh"
    sent = {"authorization": "Bearer caller", "idempotency-key": "theirs", "X-Extra": "kept"}
    async with ServiceClient("users", base, _settings(), token_source=tokens) as client:
        response = await client.post("/echo", headers=sent, idempotency_key="ours")
    [raw] = server.raw_headers["echo"]
    named = [(name.lower(), value) for name, value in raw]
    assert [value for name, value in named if name == "authorization"] == ["Bearer fresh"]
    assert [value for name, value in named if name == "idempotency-key"] == ["ours"]
    assert ("x-extra", "kept") in named
    assert response.headers["content-type"] == response.headers["Content-Type"]
    assert response.headers["CONTENT-TYPE"] == "application/json"


async def test_query_params_and_a_json_body_are_sent_as_httpx_sent_them(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    params = {"q": "a b&c", "tag": ["x", "y"], "fresh": True, "page": 2, "empty": None}
    async with ServiceClient("products", base, _settings()) as client:
        response = await client.post("/echo?kept=1", json={"name": "café", "n": 1}, params=params)
    assert response.json() == {"ok": True}
    assert server.queries["echo"] == [
        [
            ("kept", "1"),
            ("q", "a b&c"),
            ("tag", "x"),
            ("tag", "y"),
            ("fresh", "true"),
            ("page", "2"),
            ("empty", ""),
        ]
    ]
    # Compact UTF-8, as httpx encoded it.
    assert server.bodies["echo"] == ['{"name":"café","n":1}'.encode()]
    assert server.headers["echo"][0]["content-type"] == "application/json"


async def test_a_body_that_cannot_be_encoded_is_not_sent_nor_a_breaker_failure(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    settings = _settings(breaker_failure_threshold=1)
    async with ServiceClient("payments", base, settings) as client:
        with pytest.raises(ValueError, match="JSON compliant"):
            await client.post("/charge", json={"amount": float("nan")})
        assert (await client.get("/fine")).status_code == 200  # the breaker is still closed
    assert server.calls["charge"] == 0


async def test_a_redirect_is_returned_not_followed(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        response = await client.get("/moved")
    assert (response.status_code, response.headers["location"]) == (307, "/fine")
    assert server.calls["fine"] == 0


async def test_text_decodes_by_the_declared_charset(upstream: tuple[Upstream, str]) -> None:
    _, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        response = await client.get("/latin")
    assert response.headers["content-type"] == "text/plain; charset=latin-1"
    assert response.text == "café"
    with pytest.raises(AttributeError):
        response.status_code = 500  # type: ignore[misc]  # an answer is not edited on its way


def test_a_client_built_outside_an_event_loop_works_inside_one(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    client = ServiceClient("products", base, _settings())  # no loop runs here: aiohttp needs one

    async def call() -> int:
        async with client:
            return (await client.get("/fine")).status_code

    assert asyncio.run(call()) == 200
    assert server.calls["fine"] == 1


async def test_a_closed_client_refuses_calls_and_its_pool_is_closed(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    client = ServiceClient("products", base, _settings())
    assert (await client.get("/fine")).status_code == 200
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("/fine")
    assert server.calls["fine"] == 1
