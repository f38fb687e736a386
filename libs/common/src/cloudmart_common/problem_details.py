"""RFC 9457 problem+json for every error a service returns, always with the request id."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudmart_common.context import current_request_id
from cloudmart_common.errors import DomainError, UnauthorizedError, status_for

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://cloudmart.dev/problems/"

_TITLES = {
    400: ("Bad request", "bad-request"),
    401: ("Authentication required", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found", "not-found"),
    405: ("Method not allowed", "method-not-allowed"),
    409: ("Conflict", "conflict"),
    413: ("Request body too large", "payload-too-large"),
    415: ("Unsupported media type", "unsupported-media-type"),
    422: ("Validation failed", "validation-failed"),
    429: ("Too many requests", "rate-limited"),
    500: ("Internal server error", "internal-error"),
    502: ("Bad gateway", "bad-gateway"),
    503: ("Service unavailable", "service-unavailable"),
    504: ("Gateway timeout", "gateway-timeout"),
}


def problem_response(
    status: int,
    *,
    detail: str,
    instance: str,
    title: str | None = None,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    default_title, default_slug = _TITLES.get(status, ("Error", "error"))
    body = {
        "type": PROBLEM_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
        "request_id": current_request_id(),
    }
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    # RFC 6750: a 401 tells the client which scheme to use.
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, UnauthorizedError) else None
    return problem_response(
        status_for(error),
        title=error.title,
        slug=error.slug,
        detail=error.detail,
        instance=request.url.path,
        headers=headers,
        **error.extensions,
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # Location and message per field; the submitted values are not echoed back.
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
        for item in error.errors()
    ]
    return problem_response(
        422,
        detail=f"{len(errors)} field(s) failed validation",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    status = error.status_code
    detail = error.detail if isinstance(error.detail, str) else _TITLES.get(status, ("",))[0]
    if status == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    if status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(status, detail=detail, instance=request.url.path, headers=error.headers)


class UnhandledErrorMiddleware:
    """Turns any unhandled exception into a 500 problem, inside the request-id middleware.

    Starlette renders unhandled errors in its outermost middleware, outside ours: the 500 would
    carry neither the request id nor a problem body. Catching here keeps both.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise  # too late for a problem document; the connection is closed
            response = problem_response(
                500,
                detail="The server could not complete the request; it has been logged.",
                instance=scope["path"],
            )
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
