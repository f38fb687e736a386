"""The one route of the gateway's API: authenticate, limit, forward, stream the answer back.

Request bodies are read (bounded by MAX_BODY_BYTES, else 413) so that a request that never
reached an instance can go to the next one; responses are streamed through untouched.
"""

import json
import secrets
import time
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from opentelemetry import propagate
from prometheus_client import Histogram
from starlette.background import BackgroundTask

from cloudmart_common.auth import bearer_token
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.context import current_request_id
from cloudmart_common.errors import ForbiddenError, NotFoundError, UnauthorizedError
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.principal import Principal
from cloudmart_common.problem_details import problem_response
from cloudmart_gateway.ratelimit import RateLimited, RateLimits
from cloudmart_gateway.routes import LOGIN_PATH, is_admin_only, is_public, service_for
from cloudmart_gateway.settings import Settings
from cloudmart_gateway.upstreams import UpstreamPool

router = APIRouter()

UPSTREAM_DURATION = Histogram(
    "gateway_upstream_duration_seconds",
    "Time to the upstream's response headers, by service and status class",
    ["service", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# RFC 9110 §7.6.1 hop-by-hop fields, plus what httpx sets for the new connection.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SAFE_TO_RESEND = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _FailedAnswer(Exception):
    """A 5xx from the upstream: passed on to the client, counted against the breaker."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class BodyTooLarge(Exception):
    pass


@router.api_route("/api/{rest:path}", methods=METHODS, include_in_schema=False)
async def proxy(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    path = request.url.path
    service = service_for(path)
    if service is None:
        raise NotFoundError(f"no route for {path}")
    principal = await _authenticate(request, state.jwt_verifier, is_public(request.method, path))
    if is_admin_only(path) and (principal is None or not principal.is_admin):
        raise ForbiddenError("administrators only")
    try:
        body = await _body(request, settings.max_body_bytes)
    except BodyTooLarge:
        return problem_response(
            413,
            "Request body too large",
            f"the body exceeds {settings.max_body_bytes} bytes",
            slug="payload-too-large",
            request=request,
        )
    limits: RateLimits = state.rate_limits
    try:
        verdict = await limits.check(
            path=path,
            client_ip=request.client.host if request.client else "unknown",
            user=principal.subject if principal else None,
            login_name=_login_name(body) if path == LOGIN_PATH else None,
        )
    except RateLimited as exc:
        refused = problem_response(429, exc.title, exc.detail, slug=exc.slug, request=request)
        refused.headers.update(exc.verdict.headers())
        refused.headers["Retry-After"] = exc.verdict.headers()["RateLimit-Reset"]
        return refused
    response = await _forward(request, state.pools[service], state.http, body, settings)
    if verdict is not None:
        response.headers.update(verdict.headers())
    return response


async def _authenticate(request: Request, verifier: JwksVerifier, public: bool) -> Principal | None:
    header = request.headers.get("authorization")
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


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _target(request: Request) -> str:
    """The path as the client sent it, still percent-encoded, and the query.

    Forwarding the decoded path would turn `%0B` back into a control character no URL may
    hold (httpx refused it: a 500) and `%2F` into a separator; the upstream decodes the raw
    path exactly as the gateway did to choose the route.
    """
    raw: bytes | None = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path)
    query = request.url.query
    return path + (f"?{query}" if query else "")


def _login_name(body: bytes) -> str | None:
    try:
        parsed: Any = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    name = parsed.get("username") if isinstance(parsed, dict) else None
    return name[:100] if isinstance(name, str) else None


def _outgoing_headers(request: Request) -> dict[str, str]:
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP
    }
    client = request.client.host if request.client else "unknown"
    prior = request.headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{prior}, {client}" if prior else client
    headers["x-forwarded-proto"] = request.url.scheme
    headers["x-forwarded-host"] = request.headers.get("host", "")
    request_id = current_request_id()
    if request_id is not None:
        headers["x-request-id"] = request_id
    propagate.inject(headers)  # the gateway's span when tracing is on
    if "traceparent" not in headers:
        # Tracing off and no caller context: still give the services one trace id to share.
        headers["traceparent"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    return headers


# The gateway's server adds its own; the upstream's would be a second copy.
_NOT_RELAYED = (HOP_BY_HOP - {"content-length"}) | {"date", "server"}


def _incoming_headers(upstream: httpx.Response) -> dict[str, str]:
    return {
        name: value for name, value in upstream.headers.items() if name.lower() not in _NOT_RELAYED
    }


async def _forward(
    request: Request,
    pool: UpstreamPool,
    http: httpx.AsyncClient,
    body: bytes,
    settings: Settings,
) -> Response:
    method = request.method
    headers = _outgoing_headers(request)
    target = _target(request)
    last_error = "no instance answered"
    for instance in pool.candidates()[:2]:  # a second instance when the first cannot connect
        started = time.perf_counter()
        outgoing = http.build_request(
            method, instance.url + target, headers=headers, content=body or None
        )
        try:
            async with pool.policy.breaker(method):
                upstream = await http.send(outgoing, stream=True)
                if upstream.status_code >= 500:
                    raise _FailedAnswer(upstream)
        except _FailedAnswer as failed:
            upstream = failed.response
        except httpx.ConnectError:
            pool.failed(instance)  # nothing was sent: safe to try the next instance
            last_error = f"{pool.service} refused the connection"
            continue
        except httpx.TimeoutException:
            pool.failed(instance)
            if method in SAFE_TO_RESEND:
                last_error = f"{pool.service} did not answer in time"
                continue
            return problem_response(
                504,
                "Upstream timeout",
                f"{pool.service} did not answer within {settings.upstream_timeout_seconds:g} s",
                slug="upstream-timeout",
                request=request,
            )
        except httpx.HTTPError as exc:
            pool.failed(instance)
            last_error = f"{pool.service} failed ({type(exc).__name__})"
            continue
        pool.succeeded(instance)
        UPSTREAM_DURATION.labels(pool.service, f"{upstream.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=_incoming_headers(upstream),
            background=BackgroundTask(upstream.aclose),
        )
    raise UpstreamUnavailable(pool.service, last_error)
