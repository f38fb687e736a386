"""ServiceTokenProvider against a client-credentials token endpoint on real loopback HTTP."""

import asyncio
import base64
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cloudmart_common.errors import ServiceUnavailableError
from cloudmart_common.service_token import ServiceTokenProvider
from cloudmart_common.settings import CommonSettings

CLIENT_ID = "orders"
CLIENT_SECRET = "s3cret+/:%=with spaces"  # every character RFC 6749 makes clients encode


class TokenEndpoint:
    """The users service's `POST /oauth/token`: client credentials by HTTP Basic, counted."""

    def __init__(self) -> None:
        self.reset()
        self.app = FastAPI()
        self.app.post("/oauth/token")(self.issue)

    def reset(self) -> None:
        self.fetches = 0
        self.lifetime_seconds: float = 300
        self.delay_seconds = 0.0
        self.answer: JSONResponse | None = None  # answered instead of a token when set

    async def issue(self, request: Request) -> JSONResponse:
        self.fetches += 1
        await asyncio.sleep(self.delay_seconds)  # holds the fetch in flight for concurrency
        if self.answer is not None:
            return self.answer
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if (scheme, unquote_plus(client_id), unquote_plus(secret)) != (
            "Basic",
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(
            {
                "access_token": f"service-token-{self.fetches}",
                "token_type": "bearer",
                "expires_in": self.lifetime_seconds,
            }
        )


@pytest.fixture(scope="module")
def token_server(serve: Callable[[Any], str]) -> tuple[TokenEndpoint, str]:
    server = TokenEndpoint()
    return server, f"{serve(server.app)}/oauth/token"


@pytest.fixture
def endpoint(token_server: tuple[TokenEndpoint, str]) -> tuple[TokenEndpoint, str]:
    """The module's token endpoint, as new: one server, not one per test, to start and stop."""
    token_server[0].reset()
    return token_server


def _provider(url: str, http: httpx.AsyncClient, **overrides: Any) -> ServiceTokenProvider:
    values: dict[str, Any] = {
        "service_token_url": url,
        "service_client_id": CLIENT_ID,
        "service_client_secret": CLIENT_SECRET,
    }
    return ServiceTokenProvider(CommonSettings(**(values | overrides)), http)


async def test_concurrent_callers_share_one_fetch_and_the_token_is_cached(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    server, url = endpoint
    server.delay_seconds = 0.2
    provider = _provider(url, http)
    tokens = await asyncio.gather(*(provider.token() for _ in range(20)))
    assert set(tokens) == {"service-token-1"}
    assert server.fetches == 1
    assert await provider.token() == "service-token-1"
    assert server.fetches == 1


async def test_the_token_is_renewed_before_it_expires(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    server, url = endpoint
    server.lifetime_seconds = 2  # too short for the 30 s margin: renewed half-way instead
    provider = _provider(url, http)
    issued_at = time.monotonic()
    assert await provider.token() == "service-token-1"
    while await provider.token() == "service-token-1":
        assert time.monotonic() - issued_at < 5, "the token was never renewed"
        await asyncio.sleep(0.05)
    assert time.monotonic() - issued_at < server.lifetime_seconds  # before, not after, expiry
    assert server.fetches == 2


async def test_an_invalidated_token_is_fetched_again(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    server, url = endpoint
    provider = _provider(url, http)
    assert await provider.token() == "service-token-1"
    provider.invalidate()  # what the service client does after a 401 from a callee
    assert await provider.token() == "service-token-2"
    assert await provider.token() == "service-token-2"
    assert server.fetches == 2


async def test_a_wrong_secret_is_service_unavailable_with_a_clear_reason(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    _, url = endpoint
    provider = _provider(url, http, service_client_secret="wrong")
    with pytest.raises(ServiceUnavailableError) as failed:
        await provider.token()
    assert failed.value.detail == (
        "token endpoint refused the service credentials (401 invalid_client)"
    )


async def test_concurrent_callers_share_a_failed_fetch_and_the_next_call_retries(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    server, url = endpoint
    server.delay_seconds = 0.2
    server.answer = JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
    provider = _provider(url, http)
    results = await asyncio.gather(*(provider.token() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, ServiceUnavailableError) for result in results)
    assert server.fetches == 1  # not ten queued attempts, each waiting out a timeout
    server.answer, server.delay_seconds = None, 0.0
    assert await provider.token() == "service-token-2"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"token_type": "bearer", "expires_in": 300}, id="no-token"),
        pytest.param({"access_token": "t", "token_type": "mac", "expires_in": 300}, id="mac"),
        pytest.param({"access_token": "t", "token_type": "bearer"}, id="no-expiry"),
        pytest.param({"access_token": "t", "token_type": "bearer", "expires_in": 0}, id="expired"),
    ],
)
async def test_a_malformed_answer_is_service_unavailable(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient, answer: dict[str, Any]
) -> None:
    server, url = endpoint
    server.answer = JSONResponse(answer)
    with pytest.raises(ServiceUnavailableError, match="lacks a bearer access_token"):
        await _provider(url, http).token()


async def test_an_unreachable_token_endpoint_is_service_unavailable(
    http: httpx.AsyncClient,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = _provider(f"http://127.0.0.1:{port}/oauth/token", http)
    with pytest.raises(ServiceUnavailableError, match="token endpoint unreachable"):
        await provider.token()


async def test_missing_credentials_fail_without_a_request(
    endpoint: tuple[TokenEndpoint, str], http: httpx.AsyncClient
) -> None:
    server, url = endpoint
    with pytest.raises(ServiceUnavailableError, match="SERVICE_CLIENT_ID"):
        await _provider(url, http, service_client_id="").token()
    assert server.fetches == 0
