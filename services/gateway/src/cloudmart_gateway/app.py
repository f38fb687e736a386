"""Composition root of the API gateway: upstream pools, rate limits, routes, edge middleware."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cloudmart_common.readiness import DependencyCheck, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_gateway import health, openapi, proxy, web
from cloudmart_gateway.ratelimit import RateLimits
from cloudmart_gateway.security import SecurityHeadersMiddleware
from cloudmart_gateway.settings import Settings
from cloudmart_gateway.upstreams import pools

# Many concurrent clients through one process: a generous pool. Few kept alive: httpcore
# checks every idle connection on each request, so 200 idle ones cost more than reconnecting
# (ADR 0017: a third of the gateway's CPU at 50 clients; 200 -> 32 gave +40% req/s).
POOL_LIMITS = httpx.Limits(max_connections=500, max_keepalive_connections=32)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        timeout = httpx.Timeout(settings.upstream_timeout_seconds, connect=2.0)
        async with httpx.AsyncClient(timeout=timeout, limits=POOL_LIMITS) as http:
            app.state.http = http
            app.state.pools = pools(settings)
            app.state.rate_limits = RateLimits(settings)
            app.state.openapi = openapi.OpenApiCache(settings.openapi_cache_seconds)
            try:
                # Rate limits fail open without Redis: the gateway keeps routing.
                yield [redis_check(redis, critical=False)]
            finally:
                await redis.aclose()

    app = create_service_app(
        title="CloudMart API gateway",
        settings=settings,
        resources=resources,
        # The web UI's catch-all route comes last: every other route wins over it.
        routers=[health.router, openapi.router, proxy.router, web.router],
    )
    app.add_middleware(
        CORSMiddleware,
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
    app.add_middleware(SecurityHeadersMiddleware, stripe_api_base=settings.web_stripe_api_base)
    return app
