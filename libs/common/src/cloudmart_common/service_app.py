"""The app factory every service builds on: lifespan-owned resources, health, readiness, metrics."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from redis.asyncio import Redis

from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.log import configure_logging
from cloudmart_common.metrics import metrics_router
from cloudmart_common.observed import ObservedRequests
from cloudmart_common.openapi_errors import install as document_errors
from cloudmart_common.problem_details import install_problem_handlers
from cloudmart_common.readiness import DependencyCheck, run_checks
from cloudmart_common.revocations import REVOCATION_TIMEOUT_SECONDS, RevokedSessions
from cloudmart_common.service_token import ServiceTokenProvider
from cloudmart_common.settings import CommonSettings
from cloudmart_common.tracing import configure_tracing

# Opens the service's pools and clients on start-up, closes them on shutdown, and yields the
# readiness checks of what it opened: importing a module never opens a connection.
Resources = Callable[[FastAPI], AbstractAsyncContextManager[Sequence[DependencyCheck]]]

_health_router = APIRouter(tags=["operations"])

NO_NATIVE_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


@_health_router.get("/health", summary="Liveness: the process answers")
async def health(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.state.settings.service_name}


@_health_router.get(
    "/ready",
    summary="Readiness: every dependency of this service answers within the health timeout",
    responses={
        503: {
            "description": "A critical dependency is down; the report says which",
            "content": {"application/json": {"schema": {}}},
        }
    },
)
async def ready(request: Request) -> JSONResponse:
    settings: CommonSettings = request.app.state.settings
    report: dict[str, Any] = await run_checks(
        request.app.state.readiness_checks, settings.health_check_timeout_seconds
    )
    report["service"] = settings.service_name
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


def create_service_app(
    *,
    title: str,
    settings: CommonSettings,
    resources: Resources,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One pooled client for the JWKS and the service token; keys are fetched on first use.
        # Revoked sessions are read from Redis on a pool of their own, with short timeouts and
        # no retries: an unreachable Redis must cost a request milliseconds, not seconds.
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=REVOCATION_TIMEOUT_SECONDS,
            socket_timeout=REVOCATION_TIMEOUT_SECONDS,
        )
        try:
            async with httpx.AsyncClient() as http:
                app.state.jwt_verifier = JwksVerifier(settings, http, RevokedSessions(redis))
                app.state.service_token = ServiceTokenProvider(settings, http)
                async with resources(app) as checks:
                    app.state.readiness_checks = list(checks)
                    yield
        finally:
            await redis.aclose()

    configure_logging(settings)
    configure_tracing(settings)
    # FastAPI's own telemetry would trace every request a second time, with spans for each
    # dependency and serialisation: ObservedRequests keeps the one server span, sampled.
    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan, telemetry=NO_NATIVE_TELEMETRY)
    app.state.settings = settings
    install_problem_handlers(app)
    # Added first, so innermost of the app's own middleware (a service's CORS or headers
    # wrap it); still outside routing, so a crash is a counted 500 problem carrying the id,
    # and the server span is current in every handler and log line. Once: a request a fast
    # path observed and handed back (fast_path.fall_through) passes by (observed.OBSERVED_KEY).
    app.add_middleware(ObservedRequests)
    app.include_router(_health_router)
    app.include_router(metrics_router)
    for router in routers:
        app.include_router(router)
    document_errors(app)
    return app


def from_state(name: str) -> Callable[[Request], Any]:
    """A dependency returning what the lifespan put on app.state under `name`.

    Payments = Annotated[PaymentService, Depends(from_state("payments"))]
    """

    # A coroutine: FastAPI runs a plain function in its thread pool, a thread hand-off per
    # request for an attribute read (ADR 0017).
    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return dependency
