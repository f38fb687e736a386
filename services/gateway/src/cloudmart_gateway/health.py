"""GET /health/services: every service's readiness in one document, fetched concurrently."""

import asyncio
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cloudmart_gateway.upstreams import UpstreamPool

router = APIRouter()


async def _ready(http: httpx.AsyncClient, url: str, deadline: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        response = await http.get(f"{url}/ready", timeout=deadline)
        document = response.json()
        status = "up" if response.status_code == 200 else "not_ready"
        result: dict[str, Any] = {"status": status, "checks": document.get("checks", {})}
    except (httpx.HTTPError, ValueError) as exc:
        result = {"status": "down", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@router.get("/health/services", tags=["health"])
async def services_health(request: Request) -> JSONResponse:
    """Each instance of each service asked `/ready` at once, all within the health deadline;
    `ok` when every service has a ready instance, else `degraded` (still a 200: the gateway
    itself is fine)."""
    pools: dict[str, UpstreamPool] = request.app.state.pools
    http: httpx.AsyncClient = request.app.state.http
    deadline = request.app.state.settings.health_check_timeout_seconds
    targets = [
        (service, instance.url) for service, pool in pools.items() for instance in pool.instances
    ]
    results = await asyncio.gather(*(_ready(http, url, deadline) for _service, url in targets))
    services: dict[str, dict[str, Any]] = {}
    for (service, url), result in zip(targets, results, strict=True):
        entry = services.setdefault(service, {"status": "down", "instances": {}})
        entry["instances"][url] = result
        if result["status"] == "up":
            entry["status"] = "up"
    overall = "ok" if all(s["status"] == "up" for s in services.values()) else "degraded"
    return JSONResponse({"status": overall, "services": services})
