"""Service-to-service HTTP: pooled, timed out, retried when safe, behind a breaker per upstream."""

import asyncio
import codecs
import json as jsonlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
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
POOL_SIZE = 100  # connections per client, busy and idle together
# Under the services' 75 s keep-alive (uvicorn's own 5 s until ADR 0017): a connection the
# upstream is about to close is never reused (a POST sent on one would fail, and may not be
# repeated).
KEEPALIVE_SECONDS = 4.0

# The network or the upstream's process failed, not the request: worth a retry when that is
# safe, and a mark against the breaker. ClientResponseError is how aiohttp reports an answer
# it cannot parse (we never ask it to raise for a status); TimeoutError is the per-attempt
# deadline of `_send`. Not aiohttp.ClientError as a whole: an InvalidURL is our bug.
_TRANSPORT_FAILURES = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    aiohttp.ClientResponseError,
    TimeoutError,
)


class CallOptions(TypedDict, total=False):
    """What `get`, `post`, ... accept besides the path: the keyword arguments of `request`."""

    json: Any
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class ServiceResponse:
    """An upstream's answer, read whole within the call's deadline.

    Ours rather than aiohttp's: that one is bound to its connection and must be read before
    the connection goes back to the pool, so a caller could not be handed it.
    """

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes = field(repr=False)

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.content, **kwargs)

    @property
    def text(self) -> str:
        # As httpx decoded: the declared charset, else UTF-8; never an error for a bad byte.
        return self.content.decode(_charset(self.headers.get("Content-Type")), errors="replace")


class _FailedAnswer(Exception):
    """A 5xx answer, raised inside the breaker so that it counts as a failure."""

    def __init__(self, response: ServiceResponse) -> None:
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
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.upstream = upstream
        # URLs are joined here rather than by aiohttp's base_url, so an injected (shared)
        # session serves several upstreams.
        self._base_url = base_url.rstrip("/")
        self._settings = settings
        self._token_source = token_source
        # Passed with every request, so an injected session keeps this budget, not its own.
        # The whole attempt, body included, is bounded by the deadline of `_send`; aiohttp
        # only bounds the connect (the pool wait falls under that deadline).
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=min(CONNECT_TIMEOUT_SECONDS, settings.service_call_timeout_seconds),
        )
        self._owns_session = session is None
        # aiohttp binds a session to the running loop: our own is made at the first call,
        # so a client can be built outside one.
        self._session = session
        self._closed = False
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
        if self._owns_session:  # an injected session belongs to whoever shares it
            self._closed = True
            if self._session is not None:
                await self._session.close()

    async def get(self, path: str, **options: Unpack[CallOptions]) -> ServiceResponse:
        return await self.request("GET", path, **options)

    async def post(self, path: str, **options: Unpack[CallOptions]) -> ServiceResponse:
        return await self.request("POST", path, **options)

    async def put(self, path: str, **options: Unpack[CallOptions]) -> ServiceResponse:
        return await self.request("PUT", path, **options)

    async def patch(self, path: str, **options: Unpack[CallOptions]) -> ServiceResponse:
        return await self.request("PATCH", path, **options)

    async def delete(self, path: str, **options: Unpack[CallOptions]) -> ServiceResponse:
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
    ) -> ServiceResponse:
        """The upstream's answer below 500, or UpstreamUnavailable.

        Retried only when repeating cannot do the work twice: idempotent methods, and
        POST/PATCH carrying an Idempotency-Key (sent as that header). Anything else is
        attempted exactly once, since a timeout does not tell whether the upstream acted.
        """
        method = method.upper()
        # Case-insensitive: a caller's "authorization" must not travel next to ours.
        extra: CIMultiDict[str] = CIMultiDict(headers) if headers else CIMultiDict()
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        # Encoded here, outside the breaker: an unserialisable body is not this upstream
        # failing. The bytes httpx sent: compact UTF-8, no NaN.
        body: bytes | None = None
        if json is not None:
            body = jsonlib.dumps(
                json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
            extra.setdefault("Content-Type", "application/json")
        query = _query(params) if params else None
        safe_to_repeat = method in IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = self._settings.service_call_retries if safe_to_repeat else 1
        url = f"{self._base_url}/{path.lstrip('/')}"
        response = await self._call(method, url, body, query, extra, attempts)
        if self._token_source is not None and (
            response.status_code == 401 or _insufficient_scope(response)
        ):
            # A rotated key, an expired token, or one issued before this client's grants
            # changed (cloudmart_common.scopes): refused before any work was done, so even a
            # non-idempotent call may go again, once, with a fresh token.
            self._token_source.invalidate()
            response = await self._call(method, url, body, query, extra, attempts)
        return response

    async def _call(
        self,
        method: str,
        url: str,
        body: bytes | None,
        query: list[tuple[str, str]] | None,
        headers: CIMultiDict[str],
        attempts: int,
    ) -> ServiceResponse:
        # One call can open the breaker on its own (attempts >= threshold): those are N real
        # failures in a row, which is the signal (CallPolicy explains the order).
        retrying = self._policy.retrying(attempts, _worth_retrying)
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._attempt(method, url, body, query, headers)
        except TimeoutError as exc:  # aiohttp's connect timeout is one too
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
        body: bytes | None,
        query: list[tuple[str, str]] | None,
        headers: CIMultiDict[str],
    ) -> ServiceResponse:
        # Made outside the breaker: a token endpoint that is down is not this upstream failing.
        session = self._pool()
        outgoing = await self._outgoing_headers(headers)
        async with self._policy.breaker(method):
            return await self._send(session, method, url, body, query, outgoing)

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: bytes | None,
        query: list[tuple[str, str]] | None,
        headers: CIMultiDict[str],
    ) -> ServiceResponse:
        started = time.perf_counter()
        try:
            # The whole attempt, the body read included, so an upstream trickling its answer
            # cannot hold the caller past the budget.
            async with (
                asyncio.timeout(self._settings.service_call_timeout_seconds),
                session.request(
                    method,
                    url,
                    data=body,
                    params=query,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,  # a redirect is the upstream's answer, as with httpx
                ) as answer,
            ):
                response = ServiceResponse(answer.status, answer.headers, await answer.read())
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

    def _pool(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError(f"the {self.upstream} client is closed")
        if self._session is None:
            self._session = _new_session()
        return self._session

    async def _outgoing_headers(self, headers: CIMultiDict[str]) -> CIMultiDict[str]:
        outgoing = headers.copy()
        request_id = current_request_id()
        if request_id is not None:
            outgoing["X-Request-ID"] = request_id
        propagate.inject(outgoing)  # the current span's W3C traceparent; nothing without one
        if self._token_source is not None:
            outgoing["Authorization"] = f"Bearer {await self._token_source.token()}"
        return outgoing


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=POOL_SIZE, keepalive_timeout=KEEPALIVE_SECONDS)
    session = aiohttp.ClientSession(
        connector=connector,
        # Nothing kept between calls: calls made for different users share this session.
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    # aiohttp sends an idempotent request a second time when its connection drops, even a
    # fresh one: every attempt would become two, behind the retries' and the breaker's back.
    # There is no public switch (aiohttp's own test client turns it off the same way).
    session._retry_connection = False
    return session


def _query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query pairs as httpx encoded them: a list repeats its key, True is "true", None empty."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            pairs.append((name, _query_value(item)))
    return pairs


def _query_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _charset(content_type: str | None) -> str:
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"


def _worth_retrying(exc: BaseException) -> bool:
    if isinstance(exc, _FailedAnswer):
        return exc.response.status_code in RETRYABLE_STATUSES
    return isinstance(exc, _TRANSPORT_FAILURES)


def _insufficient_scope(response: ServiceResponse) -> bool:
    """A 403 problem saying the token lacks a scope (auth.service_with)."""
    if response.status_code != 403:
        return False
    try:
        problem = response.json()
    except ValueError:
        return False
    return isinstance(problem, dict) and problem.get("error") == "insufficient_scope"
