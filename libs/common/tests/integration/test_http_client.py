"""The service client against a real loopback upstream: retries, breaker, headers, tokens."""

import asyncio
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry import trace

from cloudmart_common.context import request_id_var
from cloudmart_common.http_client import ServiceClient, UpstreamUnavailable
from cloudmart_common.settings import CommonSettings
from cloudmart_common.tracing import configure_tracing


class Upstream:
    """A service that fails on cue and remembers what it was sent."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.failures_left: dict[str, int] = defaultdict(int)
        self.headers: list[dict[str, str]] = []
        self.app = FastAPI()
        self.app.api_route("/{name}", methods=["GET", "POST", "PUT"])(self.handle)

    async def handle(self, name: str, request: Request) -> Response:
        self.calls[name] += 1
        self.headers.append(dict(request.headers))
        if name == "slow":
            await asyncio.sleep(2)
        if name == "missing":
            return Response(status_code=404)
        if name == "always-503" or self.failures_left[name] > 0:
            self.failures_left[name] -= 1
            return Response(status_code=503)
        if name == "auth" and request.headers.get("authorization") != "Bearer fresh":
            return Response(status_code=401)
        return Response(content=b'{"ok": true}', media_type="application/json")


@pytest.fixture
def upstream(serve: Callable[[Any], str]) -> tuple[Upstream, str]:
    server = Upstream()
    return server, serve(server.app)


def _settings(**overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "service_call_retries": 3,
        "breaker_failure_threshold": 3,
        "breaker_recovery_seconds": 1,
        "service_call_timeout_seconds": 5,
    }
    return CommonSettings(**(values | overrides))


async def test_a_get_is_retried_through_transient_503s(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    server.failures_left["flaky"] = 2
    async with ServiceClient("products", base, _settings(breaker_failure_threshold=10)) as client:
        response = await client.get("/flaky")
    assert (response.status_code, server.calls["flaky"]) == (200, 3)


async def test_a_plain_post_is_attempted_once(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    async with ServiceClient("payments", base, _settings()) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.post("/always-503", json={"amount": 10})
    assert server.calls["always-503"] == 1


async def test_a_post_with_an_idempotency_key_is_retried_with_the_key(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    server.failures_left["charge"] = 1
    async with ServiceClient("payments", base, _settings()) as client:
        response = await client.post("/charge", json={"amount": 10}, idempotency_key="order-7")
    assert (response.status_code, server.calls["charge"]) == (200, 2)
    assert {h["idempotency-key"] for h in server.headers} == {"order-7"}


async def test_connection_refused_on_a_post_is_one_attempt() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    async with ServiceClient("payments", f"http://127.0.0.1:{port}", _settings()) as client:
        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailable, match="did not answer"):
            await client.post("/charge", json={})
    assert time.perf_counter() - started < 1


async def test_4xx_is_returned_not_retried_and_not_a_breaker_failure(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    async with ServiceClient("products", base, _settings()) as client:
        for _ in range(5):  # more than the breaker threshold
            assert (await client.get("/missing")).status_code == 404
        assert (await client.get("/fine")).status_code == 200
    assert server.calls["missing"] == 5


async def test_the_breaker_opens_fails_fast_half_opens_and_closes(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    server.failures_left["recovering"] = 3
    async with ServiceClient("products", base, _settings(service_call_retries=1)) as client:
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable):
                await client.get("/recovering")
        assert server.calls["recovering"] == 3
        started = time.perf_counter()
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await client.get("/recovering")
        assert time.perf_counter() - started < 0.1
        assert server.calls["recovering"] == 3  # open: the upstream was not called
        deadline = time.monotonic() + 5
        while True:  # after the recovery time one trial call goes through, and succeeds
            try:
                response = await client.get("/recovering")
                break
            except UpstreamUnavailable:
                assert time.monotonic() < deadline, "the breaker never half-opened"
                await asyncio.sleep(0.1)
        assert response.status_code == 200
        assert (await client.get("/recovering")).status_code == 200  # closed again
    assert server.calls["recovering"] == 5


async def test_one_upstreams_open_breaker_does_not_affect_another(
    upstream: tuple[Upstream, str],
) -> None:
    _, base = upstream
    settings = _settings(service_call_retries=1)
    async with (
        ServiceClient("payments", base, settings) as broken,
        ServiceClient("products", base, settings) as healthy,
    ):
        for _ in range(4):
            with pytest.raises(UpstreamUnavailable):
                await broken.get("/always-503")
        assert (await healthy.get("/fine")).status_code == 200


async def test_a_timeout_is_an_outage(upstream: tuple[Upstream, str]) -> None:
    _, base = upstream
    settings = _settings(service_call_timeout_seconds=0.3, service_call_retries=2)
    async with ServiceClient("products", base, settings) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.get("/slow")


async def test_request_id_and_traceparent_reach_the_upstream(
    upstream: tuple[Upstream, str],
) -> None:
    server, base = upstream
    configure_tracing(_settings())  # as create_service_app does in every service
    token = request_id_var.set("req-123")
    try:
        with trace.get_tracer("test").start_as_current_span("checkout") as span:
            async with ServiceClient("products", base, _settings()) as client:
                await client.get("/fine")
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        request_id_var.reset(token)
    sent = server.headers[-1]
    assert sent["x-request-id"] == "req-123"
    assert sent["traceparent"].split("-")[1] == trace_id


class RotatingTokens:
    def __init__(self) -> None:
        self.current = "stale"
        self.invalidated = 0

    async def token(self) -> str:
        return self.current

    def invalidate(self) -> None:
        self.invalidated += 1
        self.current = "fresh"


async def test_a_401_renews_the_service_token_once(upstream: tuple[Upstream, str]) -> None:
    server, base = upstream
    tokens = RotatingTokens()
    async with ServiceClient("users", base, _settings(), token_source=tokens) as client:
        response = await client.get("/auth")
    assert (response.status_code, tokens.invalidated, server.calls["auth"]) == (200, 1, 2)
    assert [h["authorization"] for h in server.headers] == ["Bearer stale", "Bearer fresh"]
