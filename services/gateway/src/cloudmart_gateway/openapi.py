"""One OpenAPI document of the public API, merged from the services' own, and its docs page;
beside it the AsyncAPI document of the Kafka events (cloudmart_common.asyncapi).

Only `/api/...` paths are kept (internal and operational routes are not public). Component
schemas are prefixed with their service's name, so two services' `Strict` never collide. What
the gateway answers by itself is added to every operation it applies to: 401 without a valid
token on a closed route, 413 for a body over the limit, 429 past a rate limit, 503 while the
service cannot be reached (or its breaker is open), 504 when it does not answer in time.
"""

import asyncio
import json
import re
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from cloudmart_common import asyncapi
from cloudmart_common.openapi_errors import problem_content, problem_schemas
from cloudmart_gateway.routes import is_public
from cloudmart_gateway.upstreams import UpstreamPool

router = APIRouter()
ASYNCAPI_JSON = "/api/asyncapi.json"
ASYNCAPI_YAML = "/api/asyncapi.yaml"
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


_RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds until a request may succeed", "required": True},
    "RateLimit-Limit": {"description": "Requests allowed in the window", "required": True},
    "RateLimit-Remaining": {"description": "Requests left in the window", "required": True},
    "RateLimit-Reset": {"description": "Seconds until the window resets", "required": True},
}


def _edge_answers(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The gateway's own answers for one operation (what the service documents wins)."""
    content = problem_content("GatewayProblem")
    answers: dict[str, Any] = {}
    if not is_public(method.upper(), path):
        answers["401"] = {"description": "No, a malformed, an expired or a forged token"}
    if "requestBody" in operation:
        answers["413"] = {"description": "The body exceeds the gateway's limit (1 MiB)"}
    answers["429"] = {
        "description": "A rate limit is spent (per client IP, per user; login and password "
        "reset have their own, stricter limits)",
        "headers": {
            name: {**header, "schema": {"type": "string"}}
            for name, header in _RATE_LIMIT_HEADERS.items()
        },
    }
    answers["503"] = {"description": "The service cannot be reached, or its breaker is open"}
    answers["504"] = {"description": "The service did not answer in time"}
    for answer in answers.values():
        answer["content"] = content
    return answers


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "CloudMart public API",
            "version": "1.0.0",
            "description": "Every route the gateway serves, from the services' own documents. "
            f"The Kafka events are described by an AsyncAPI document: [{ASYNCAPI_JSON}]"
            f"({ASYNCAPI_JSON}), [YAML]({ASYNCAPI_YAML}).",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for service, document in sorted(documents.items()):
        renamed = _prefixed(service, document)
        for path, operations in renamed.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"][path] = operations
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    for status, answer in _edge_answers(method, path, operation).items():
                        responses.setdefault(status, answer)
        merged["components"]["schemas"].update(renamed["components"]["schemas"])
        merged["components"]["securitySchemes"].update(
            renamed["components"].get("securitySchemes", {})
        )
    schemas = problem_schemas()
    merged["components"]["schemas"]["GatewayProblem"] = schemas.pop("Problem")
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


# The events' contract ships with cloudmart_common (generated from the event schemas, ADR 0018):
# served from the installed package, so it is the one this gateway was built with.
@router.get(ASYNCAPI_JSON, include_in_schema=False)
async def public_asyncapi_json() -> JSONResponse:
    return JSONResponse(asyncapi.document())


@router.get(ASYNCAPI_YAML, include_in_schema=False)
async def public_asyncapi_yaml() -> PlainTextResponse:
    return PlainTextResponse(asyncapi.document_text(), media_type="application/yaml")
