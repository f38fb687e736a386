"""Service-to-service HTTP: pooled, timed out, retried when safe, behind a breaker per upstream."""

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from opentelemetry import propagate
from prometheus_client import Counter, Histogram
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from cloudmart_common.context import current_request_id
from cloudmart_common.errors import ServiceUnavailableError
from cloudmart_common.service_token import TokenSource
from cloudmart_common.settings import CommonSettings

SERVICE_CALLS = Counter(
    "service_calls_total", "Calls to other services", ["upstream", "method", "outcome"]
)
SERVICE_CALL_DURATION = Histogram(
    "service_call_duration_seconds", "Latency of calls to other services", ["upstream", "method"]
)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamUnavailable(ServiceUnavailableError):
    title, slug = "Upstream service unavailable", "upstream-unavailable"


class _UpstreamFailed(Exception):
    """A 5xx answer, raised inside the breaker so that it counts as a failure."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"answered {response.status_code}")
        self.response = response


class ServiceClient:
    """Calls one upstream service.

    Retries (exponential backoff with jitter) only what is safe to repeat: idempotent methods,
    and POST/PATCH carrying an Idempotency-Key. Each attempt passes through the upstream's
    circuit breaker, so once it opens the remaining attempts fail fast instead of waiting on
    timeouts. 4xx answers are returned (the upstream is healthy); connection errors, timeouts
    and 5xx raise UpstreamUnavailable once the attempts are spent.
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
        self._settings = settings
        self._token_source = token_source
        timeout = httpx.Timeout(
            settings.service_call_timeout_seconds,
            connect=min(2.0, settings.service_call_timeout_seconds),
        )
        self._client = client or httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_failure_threshold,
            default_ttl=settings.breaker_recovery_seconds,
        )

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
        await self._client.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

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
        method = method.upper()
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        retryable = method in IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = self._settings.service_call_retries if retryable else 1
        response = await self._with_retries(method, path, json, params, extra, attempts)
        if response.status_code == 401 and self._token_source is not None:
            # The token may have been revoked or rotated: one fresh try, then the caller decides.
            self._token_source.invalidate()
            response = await self._with_retries(method, path, json, params, extra, attempts)
        return response

    async def _with_retries(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
        attempts: int,
    ) -> httpx.Response:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait_random_exponential(multiplier=0.1, max=2.0),
                retry=retry_if_exception_type((httpx.TransportError, _UpstreamFailed)),
                reraise=True,
            ):
                with attempt:
                    return await self._attempt(method, path, json, params, headers)
        except OpenedState as exc:
            SERVICE_CALLS.labels(self.upstream, method, "breaker_open").inc()
            raise UpstreamUnavailable(
                f"{self.upstream} is failing; calls are paused (circuit open)"
            ) from exc
        except (httpx.TransportError, _UpstreamFailed) as exc:
            raise UpstreamUnavailable(f"{self.upstream} did not answer: {exc}") from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        outgoing = await self._headers(headers)
        started = time.perf_counter()
        async with await self._breakers.get_breaker(self.upstream):
            try:
                response = await self._client.request(
                    method, path, json=json, params=params, headers=outgoing
                )
            except httpx.TransportError:
                SERVICE_CALLS.labels(self.upstream, method, "transport_error").inc()
                raise
            finally:
                SERVICE_CALL_DURATION.labels(self.upstream, method).observe(
                    time.perf_counter() - started
                )
            if response.status_code >= 500:
                SERVICE_CALLS.labels(self.upstream, method, "server_error").inc()
                raise _UpstreamFailed(response)
        outcome = "client_error" if response.status_code >= 400 else "success"
        SERVICE_CALLS.labels(self.upstream, method, outcome).inc()
        return response

    async def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        outgoing = dict(headers)
        request_id = current_request_id()
        if request_id is not None:
            outgoing["X-Request-ID"] = request_id
        propagate.inject(outgoing)  # W3C traceparent of the current span
        if self._token_source is not None:
            outgoing["Authorization"] = f"Bearer {await self._token_source.token()}"
        return outgoing
