"""Service-to-service HTTP: pooled, timed out, retried when safe, behind a breaker per upstream."""

import asyncio
import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

import httpx
from opentelemetry import propagate
from prometheus_client import Histogram

from cloudmart_common.call_policy import SERVICE_CALLS, CallPolicy, UpstreamUnavailable
from cloudmart_common.context import current_request_id
from cloudmart_common.service_token import TokenSource
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

SERVICE_CALL_DURATION = Histogram(
    "service_call_duration_seconds",
    "Latency of each attempt that reached the network",
    ["upstream", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A proxy that found nobody, an overloaded or restarting upstream: likely gone in a moment.
# A 500 is a bug on the other side, and asking again gets the same bug.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
CONNECT_TIMEOUT_SECONDS = 2.0  # inside a cluster a connect takes milliseconds, or never happens
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

# The network or the upstream's process failed, not the request: worth a retry when that is
# safe, and a mark against the breaker. TimeoutError is the per-attempt deadline of `_send`.
_TRANSPORT_FAILURES = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    TimeoutError,
)


class CallOptions(TypedDict, total=False):
    """What `get`, `post`, ... accept besides the path: the keyword arguments of `request`."""

    json: Any
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    idempotency_key: str | None


class _FailedAnswer(Exception):
    """A 5xx answer, raised inside the breaker so that it counts as a failure."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"answered {response.status_code}")
        self.response = response


class ServiceClient:
    """Calls one upstream service; build one per upstream in the lifespan and share it.

    The breaker lives in the client, so one client per upstream is one breaker per upstream
    in the process. 4xx answers are returned (the upstream is healthy and said no); connection
    errors, timeouts and 5xx raise UpstreamUnavailable once the attempts allowed are spent.
    """

    def __init__(
        self,
        upstream: str,
        base_url: str,
        settings: CommonSettings,
        *,
        token_source: TokenSource | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.upstream = upstream
        # URLs are joined here rather than by httpx's base_url, so an injected (shared)
        # client serves several upstreams.
        self._base_url = base_url.rstrip("/")
        self._settings = settings
        self._token_source = token_source
        # Passed with every request too: an injected client keeps this budget, not its own.
        self._timeout = httpx.Timeout(
            settings.service_call_timeout_seconds,
            connect=min(CONNECT_TIMEOUT_SECONDS, settings.service_call_timeout_seconds),
        )
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout, limits=POOL_LIMITS)
        self._policy = CallPolicy(upstream, settings)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:  # an injected client belongs to whoever shares it
            await self._client.aclose()

    async def get(self, path: str, **options: Unpack[CallOptions]) -> httpx.Response:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Unpack[CallOptions]) -> httpx.Response:
        return await self.request("POST", path, **options)

    async def put(self, path: str, **options: Unpack[CallOptions]) -> httpx.Response:
        return await self.request("PUT", path, **options)

    async def patch(self, path: str, **options: Unpack[CallOptions]) -> httpx.Response:
        return await self.request("PATCH", path, **options)

    async def delete(self, path: str, **options: Unpack[CallOptions]) -> httpx.Response:
        return await self.request("DELETE", path, **options)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """The upstream's answer below 500, or UpstreamUnavailable.

        Retried only when repeating cannot do the work twice: idempotent methods, and
        POST/PATCH carrying an Idempotency-Key (sent as that header). Anything else is
        attempted exactly once, since a timeout does not tell whether the upstream acted.
        """
        method = method.upper()
        extra = httpx.Headers(headers)
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        safe_to_repeat = method in IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = self._settings.service_call_retries if safe_to_repeat else 1
        url = f"{self._base_url}/{path.lstrip('/')}"
        response = await self._call(method, url, json, params, extra, attempts)
        if response.status_code == 401 and self._token_source is not None:
            # A rotated key or an expired token: refused before any work was done, so even a
            # non-idempotent call may go again, once, with a fresh token.
            self._token_source.invalidate()
            response = await self._call(method, url, json, params, extra, attempts)
        return response

    async def _call(
        self,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: httpx.Headers,
        attempts: int,
    ) -> httpx.Response:
        # One call can open the breaker on its own (attempts >= threshold): those are N real
        # failures in a row, which is the signal (CallPolicy explains the order).
        retrying = self._policy.retrying(attempts, _worth_retrying)
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._attempt(method, url, json, params, headers)
        except (httpx.TimeoutException, TimeoutError) as exc:
            budget = self._settings.service_call_timeout_seconds
            raise UpstreamUnavailable(
                self.upstream, f"{self.upstream} did not answer within {budget:g} s"
            ) from exc
        except _TRANSPORT_FAILURES as exc:
            # The exception's name, not its text: that may carry internal host names.
            raise UpstreamUnavailable(
                self.upstream, f"{self.upstream} did not answer ({type(exc).__name__})"
            ) from exc
        except _FailedAnswer as exc:
            raise UpstreamUnavailable(
                self.upstream, f"{self.upstream} answered {exc.response.status_code}"
            ) from exc
        return response

    async def _attempt(
        self,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: httpx.Headers,
    ) -> httpx.Response:
        # Built outside the breaker: an unserialisable body or a token endpoint that is down
        # is not this upstream failing.
        request = self._client.build_request(
            method,
            url,
            json=json,
            params=params,
            headers=await self._outgoing_headers(headers),
            timeout=self._timeout,
        )
        async with self._policy.breaker(method):
            return await self._send(request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        method = request.method
        started = time.perf_counter()
        try:
            # httpx's timeouts bound each socket operation; this bounds the whole attempt,
            # so an upstream trickling its answer cannot hold the caller past the budget.
            async with asyncio.timeout(self._settings.service_call_timeout_seconds):
                response = await self._client.send(request)
        except _TRANSPORT_FAILURES:
            SERVICE_CALLS.labels(self.upstream, method, "transport_error").inc()
            raise
        finally:
            SERVICE_CALL_DURATION.labels(self.upstream, method).observe(
                time.perf_counter() - started
            )
        if response.status_code >= 500:
            SERVICE_CALLS.labels(self.upstream, method, "server_error").inc()
            raise _FailedAnswer(response)
        outcome = "client_error" if response.status_code >= 400 else "success"
        SERVICE_CALLS.labels(self.upstream, method, outcome).inc()
        return response

    async def _outgoing_headers(self, headers: httpx.Headers) -> httpx.Headers:
        # httpx.Headers, not a dict: a caller's "authorization" must not travel next to ours.
        outgoing = httpx.Headers(headers)
        request_id = current_request_id()
        if request_id is not None:
            outgoing["X-Request-ID"] = request_id
        propagate.inject(outgoing)  # the current span's W3C traceparent; nothing without one
        if self._token_source is not None:
            outgoing["Authorization"] = f"Bearer {await self._token_source.token()}"
        return outgoing


def _worth_retrying(exc: BaseException) -> bool:
    if isinstance(exc, _FailedAnswer):
        return exc.response.status_code in RETRYABLE_STATUSES
    return isinstance(exc, _TRANSPORT_FAILURES)
