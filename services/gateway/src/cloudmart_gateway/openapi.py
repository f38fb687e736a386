"""One OpenAPI document of the public API, merged from the services' own, and its docs page.

Only `/api/...` paths are kept (internal and operational routes are not public). Component
schemas are prefixed with their service's name, so two services' `Strict` never collide.
"""

import asyncio
import json
import re
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from cloudmart_gateway.upstreams import UpstreamPool

router = APIRouter()
_REF = re.compile(r'"#/components/schemas/([^"]+)"')


def _prefixed(service: str, document: dict[str, Any]) -> dict[str, Any]:
    prefix = service.capitalize()
    text = _REF.sub(lambda m: f'"#/components/schemas/{prefix}{m.group(1)}"', json.dumps(document))
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    renamed.setdefault("components", {})["schemas"] = {
        f"{prefix}{name}": schema for name, schema in schemas.items()
    }
    return renamed


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "CloudMart public API",
            "version": "1.0.0",
            "description": "Every route the gateway serves, from the services' own documents.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for service, document in sorted(documents.items()):
        renamed = _prefixed(service, document)
        for path, operations in renamed.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"][path] = operations
        merged["components"]["schemas"].update(renamed["components"]["schemas"])
        merged["components"]["securitySchemes"].update(
            renamed["components"].get("securitySchemes", {})
        )
    return merged


class OpenApiCache:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._document: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self, pools: dict[str, UpstreamPool], http: httpx.AsyncClient) -> Any:
        async with self._lock:
            if self._document is None or time.monotonic() - self._fetched_at > self._ttl:
                self._document = merge(await _fetch_all(pools, http))
                self._fetched_at = time.monotonic()
            return self._document


async def _fetch_all(
    pools: dict[str, UpstreamPool], http: httpx.AsyncClient
) -> dict[str, dict[str, Any]]:
    async def fetch(pool: UpstreamPool) -> dict[str, Any] | None:
        for instance in pool.candidates():
            try:
                response = await http.get(f"{instance.url}/openapi.json", timeout=5)
                if response.status_code == 200:
                    document: dict[str, Any] = response.json()
                    return document
            except (httpx.HTTPError, ValueError):
                continue
        return None  # a service that is down is missing from the document until it is back

    results = await asyncio.gather(*(fetch(pool) for pool in pools.values()))
    return {name: doc for name, doc in zip(pools, results, strict=True) if doc is not None}


@router.get("/api/openapi.json", include_in_schema=False)
async def public_openapi(request: Request) -> JSONResponse:
    state = request.app.state
    return JSONResponse(await state.openapi.document(state.pools, state.http))


@router.get("/api/docs", include_in_schema=False)
async def public_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="CloudMart API")
