"""Composition root of the API gateway: upstream pools, rate limits, routes, edge middleware."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Scope

from cloudmart_common.fast_path import FastPathApp
from cloudmart_common.observed import ObservedRequests
from cloudmart_common.readiness import DependencyCheck, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_gateway import health, openapi, proxy, web
from cloudmart_gateway.client_address import ClientAddresses, trusted_networks
from cloudmart_gateway.proxy import SERVICE_KEY
from cloudmart_gateway.ratelimit import RateLimits
from cloudmart_gateway.routes import service_for
from cloudmart_gateway.security import CorsForOrigins, SecurityHeadersMiddleware
from cloudmart_gateway.settings import Settings
from cloudmart_gateway.upstreams import pools

# The gateway's own calls (readiness of every instance, OpenAPI documents): few at a time.
POOL_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=8)


def create_app(settings: Settings | None = None) -> FastPathApp:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=2.0)
        # httpx for the gateway's own calls (health, OpenAPI); aiohttp on the proxied path.
        async with (
            httpx.AsyncClient(timeout=timeout, limits=POOL_LIMITS) as http,
            proxy.new_session(settings) as upstream,
        ):
            app.state.http = http
            app.state.upstream = upstream
            app.state.pools = pools(settings)
            app.state.rate_limits = limits = RateLimits(settings, redis)
            app.state.client_addresses = ClientAddresses(trusted_networks(settings.trusted_proxies))
            app.state.openapi = openapi.OpenApiCache(settings.openapi_cache_seconds)
            try:
                async with limits.syncing():
                    # Rate limits fail open without Redis: the gateway keeps routing.
                    yield [redis_check(redis, critical=False)]
            finally:
                await redis.aclose()

    app = create_service_app(
        title="CloudMart API gateway",
        settings=settings,
        resources=resources,
        # The web UI's catch-all route comes last: every other route wins over it.
        routers=[health.router, openapi.router, web.router],
    )
    cors: dict[str, Any] = dict(
        allow_origins=settings.cors_origins,
        allow_methods=proxy.METHODS,
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=[
            "X-Request-ID",
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Idempotent-Replayed",
        ],
        max_age=600,
    )
    app.add_middleware(CorsForOrigins, **cors)
    app.add_middleware(SecurityHeadersMiddleware, stripe_api_base=settings.web_stripe_api_base)
    # The proxied path: the same layers around the proxy, without FastAPI's routing and
    # exception layers, which cost as much as the proxying itself (ADR 0017).
    proxied = SecurityHeadersMiddleware(
        CorsForOrigins(ObservedRequests(proxy.Proxy(app)), **cors),
        stripe_api_base=settings.web_stripe_api_base,
    )
    return FastPathApp(app, proxied, _proxied)


PROXIED_METHODS = frozenset(proxy.METHODS)


def _proxied(scope: Scope) -> bool:
    """`/api/<service>/...` goes to the proxy, told which service it found; the rest
    (probes, metrics, the API and events docs, the web UI, and methods the proxy does not
    forward, which FastAPI answers with a 405) to FastAPI."""
    if scope["method"] not in PROXIED_METHODS:
        return False
    service = service_for(scope["path"])
    if service is None:
        return False
    scope[SERVICE_KEY] = service
    return True
