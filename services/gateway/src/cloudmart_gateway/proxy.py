"""The one route of the gateway's API: authenticate, limit, forward, relay the answer back.

A raw ASGI app behind the service's shared layers (request id, sampled server span, RED
metrics, security headers, CORS), not a FastAPI endpoint: no routing, Request object,
dependency solving or response class per call, and aiohttp's client instead of httpx's
(ADR 0017: 3.6 ms of CPU per proxied GET before, most of it in those). Request bodies are
read (bounded by MAX_BODY_BYTES, else 413) so that a request that never reached an instance
can go to the next one; small answers are relayed in one piece, large or unsized ones
streamed.
"""

import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from yarl import URL

from cloudmart_common.auth import bearer_token
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.errors import DomainError, ForbiddenError, NotFoundError, UnauthorizedError
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.metrics import ROUTE_KEY
from cloudmart_common.principal import Principal
from cloudmart_common.problem_details import domain_error_response, problem_response
from cloudmart_gateway.ratelimit import RateLimited, RateLimits
from cloudmart_gateway.routes import LOGIN_PATH, is_admin_only, is_open_path, service_for
from cloudmart_gateway.settings import Settings
from cloudmart_gateway.upstreams import UpstreamPool

# RFC 9110 §7.6.1 hop-by-hop fields, plus what the client sets for the new connection.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
# The gateway's server adds its own; the upstream's would be a second copy.
_NOT_RELAYED = (HOP_BY_HOP - {b"content-length"}) | {b"date", b"server"}
# What aiohttp would add on its own: the client's headers go through as they are, or not at all.
NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SAFE_TO_RESEND = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Answers up to this size are read whole and sent in one message; bigger ones are streamed.
RELAY_WHOLE_BYTES = 256 * 1024

_tracer = trace.get_tracer("cloudmart.gateway")
_W3C = TraceContextTextMapPropagator()
# Where the dispatcher in front (app._proxied) leaves the service it found for the path.
SERVICE_KEY = "cloudmart.service"


class BodyTooLarge(Exception):
    pass


class _FailedAnswer(Exception):
    """A 5xx from the upstream: counted against the breaker, then passed on to the client."""

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        super().__init__(upstream.status)
        self.upstream = upstream


class _Incoming:
    """The headers the proxy needs, from one pass over the ASGI list."""

    __slots__ = ("authorization", "content_length", "forwarded_for", "host", "relayed")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.authorization: str | None = None
        self.content_length: bytes | None = None
        self.forwarded_for: str | None = None
        self.host = ""
        self.relayed: dict[str, str] = {}
        for name, value in raw:
            if name == b"authorization":
                self.authorization = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value
            elif name == b"host":
                self.host = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                self.forwarded_for = value.decode("latin-1")
                continue
            if name not in HOP_BY_HOP:
                self.relayed[name.decode("latin-1")] = value.decode("latin-1")


class Proxy:
    """`/api/{rest:path}`: every method, every service, one hop."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app  # its state: settings, pools, clients, limits, verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._proxy(scope, receive, send)
        except DomainError as error:  # raised before anything was sent
            await domain_error_response(error, scope["path"])(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.app.state
        settings: Settings = state.settings
        path: str = scope["path"]
        service = scope.get(SERVICE_KEY) or service_for(path)
        if service is None:
            raise NotFoundError(f"no route for {path}")
        scope[ROUTE_KEY] = f"/api/{service}/{{rest:path}}"  # the metrics' route label
        incoming = _Incoming(scope["headers"])
        principal = await _authenticate(
            incoming.authorization, state.jwt_verifier, is_open_path(path)
        )
        if is_admin_only(path) and (principal is None or not principal.is_admin):
            raise ForbiddenError("administrators only")
        try:
            body = await _body(receive, incoming.content_length, settings.max_body_bytes)
        except BodyTooLarge:
            await problem_response(
                413,
                "Request body too large",
                f"the body exceeds {settings.max_body_bytes} bytes",
                slug="payload-too-large",
                request=Request(scope),
            )(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else "unknown"
        client_ip = state.client_addresses.of(peer, incoming.forwarded_for)
        limits: RateLimits = state.rate_limits
        try:
            verdict = await limits.check(
                path=path,
                client_ip=client_ip,
                user=principal.subject if principal else None,
                login_name=_login_name(body) if path == LOGIN_PATH else None,
            )
        except RateLimited as exc:
            refused = problem_response(
                429, exc.title, exc.detail, slug=exc.slug, request=Request(scope)
            )
            refused.headers.update(exc.verdict.headers())
            refused.headers["Retry-After"] = exc.verdict.headers()["RateLimit-Reset"]
            await refused(scope, receive, send)
            return
        headers = _outgoing_headers(scope, incoming, peer)
        extra = verdict.raw_headers() if verdict is not None else []
        await _forward(scope, send, state.pools[service], state.upstream, body, headers, extra)


async def _authenticate(
    header: str | None, verifier: JwksVerifier, public: bool
) -> Principal | None:
    if header is None:
        if public:
            return None
        raise UnauthorizedError("authentication required")
    token = bearer_token(header)
    if token is None:
        if public:
            return None
        raise UnauthorizedError("expected `Authorization: Bearer <token>`")
    try:
        return await verifier.verify(token)
    except UnauthorizedError:
        if public:  # the service decides what a bad token on an open route means
            return None
        raise


async def _body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _target(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded, and the query.

    Forwarding the decoded path would turn `%0B` back into a control character no URL may
    hold and `%2F` into a separator; the upstream decodes the raw path exactly as the gateway
    did to choose the route.
    """
    raw: bytes | None = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    query: bytes = scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")


def _login_name(body: bytes) -> str | None:
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    name = parsed.get("username") if isinstance(parsed, dict) else None
    return name[:100] if isinstance(name, str) else None


def _outgoing_headers(scope: Scope, incoming: _Incoming, peer: str) -> dict[str, str]:
    headers = incoming.relayed
    prior = incoming.forwarded_for
    headers["x-forwarded-for"] = f"{prior}, {peer}" if prior else peer
    headers["x-forwarded-proto"] = scope.get("scheme", "http")
    headers["x-forwarded-host"] = incoming.host
    return headers


def _relayed_headers(upstream: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower(), value)
        for name, value in upstream.raw_headers
        if name.lower() not in _NOT_RELAYED
    ]


async def _forward(
    scope: Scope,
    send: Send,
    pool: UpstreamPool,
    session: aiohttp.ClientSession,
    body: bytes,
    headers: dict[str, str],
    extra: list[tuple[bytes, bytes]],
) -> None:
    method: str = scope["method"]
    target = _target(scope)
    server_span = trace.get_current_span()
    # The proxied call is a client span of its own only when the trace is recorded; otherwise
    # the server span's context goes downstream as it is (same trace id, not sampled).
    span = _tracer.start_span(method, kind=SpanKind.CLIENT) if server_span.is_recording() else None
    # W3C trace context only: the client's `baggage` header, if any, is relayed as it came.
    _W3C.inject(headers, context=trace.set_span_in_context(span) if span else None)
    last_error = "no instance answered"
    # Once a request may have reached an instance, it goes to another only when running it
    # twice does no harm: an idempotent method, or a key the service deduplicates by.
    resend = method in SAFE_TO_RESEND or "idempotency-key" in headers
    try:
        for instance in pool.candidates()[:2]:  # a second instance when the first cannot connect
            started = time.perf_counter()
            try:
                async with pool.policy.breaker(method):
                    upstream = await session.request(
                        method,
                        # Already encoded (the client's raw path): no parsing and re-quoting.
                        URL(instance.url + target, encoded=True),
                        headers=headers,
                        data=body or None,
                        allow_redirects=False,
                    )
                    if upstream.status >= 500:
                        raise _FailedAnswer(upstream)
            except _FailedAnswer as failed:
                upstream = failed.upstream
            except aiohttp.ClientConnectorError:
                pool.failed(instance)  # nothing was sent: safe to try the next instance
                last_error = f"{pool.service} refused the connection"
                continue
            except (TimeoutError, aiohttp.ServerTimeoutError):
                pool.failed(instance)
                if resend:
                    last_error = f"{pool.service} did not answer in time"
                    continue
                await _timed_out(scope, send, pool)
                return
            except aiohttp.ClientError as exc:
                pool.failed(instance)
                last_error = f"{pool.service} failed ({type(exc).__name__})"
                if resend:
                    continue
                break  # perhaps done, perhaps not: the client decides, not a second instance
            pool.succeeded(instance)
            pool.observe(upstream.status, time.perf_counter() - started)
            if span is not None:
                span.set_attributes(
                    {
                        "http.request.method": method,
                        "url.full": instance.url + target,
                        "server.address": pool.service,
                        "http.response.status_code": upstream.status,
                    }
                )
                if upstream.status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await _relay(upstream, send, extra)
            return
        raise UpstreamUnavailable(pool.service, last_error)
    finally:
        if span is not None:
            span.end()


async def _relay(
    upstream: aiohttp.ClientResponse, send: Send, extra: list[tuple[bytes, bytes]]
) -> None:
    try:
        headers = _relayed_headers(upstream)
        headers.extend(extra)
        length = upstream.content_length
        if length is not None and length <= RELAY_WHOLE_BYTES:
            body = await upstream.read()
            await send(
                {"type": "http.response.start", "status": upstream.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
        async for chunk in upstream.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        upstream.release()


async def _timed_out(scope: Scope, send: Send, pool: UpstreamPool) -> None:
    settings: Settings = pool.settings

    async def no_body() -> Any:
        return {"type": "http.disconnect"}

    await problem_response(
        504,
        "Upstream timeout",
        f"{pool.service} did not answer within {settings.upstream_timeout_seconds:g} s",
        slug="upstream-timeout",
        request=Request(scope),
    )(scope, no_body, send)


def new_session(settings: Settings) -> aiohttp.ClientSession:
    """The upstream connection pool: many concurrent requests, idle connections kept briefly."""
    connector = aiohttp.TCPConnector(limit=500, keepalive_timeout=30, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=2.0, sock_read=settings.upstream_timeout_seconds
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,  # bodies are relayed as the upstream encoded them
        # Once for the session: per request, aiohttp builds a set of them on every call.
        skip_auto_headers=NO_AUTO_HEADERS,
        cookie_jar=aiohttp.DummyCookieJar(),  # one jar for every client would mix their cookies
    )
