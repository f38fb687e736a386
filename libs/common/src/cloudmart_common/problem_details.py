"""RFC 9457 problem+json for every error a service returns, always with the request id."""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from cloudmart_common.context import current_request_id
from cloudmart_common.errors import STATUS_BY_ERROR, DomainError, UnauthorizedError, status_for

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://cloudmart.dev/problems/"
INTERNAL_ERROR_DETAIL = "The server could not complete the request; it has been logged."

# An HTTPException with a status a domain error also has gets that error's type, so one
# problem type URI means one thing whichever layer raised it. Reversed: when two errors
# share a status, the first in the table wins.
_DOMAIN_TITLES: dict[int, tuple[str, str]] = {
    status: (error_type.title, error_type.slug)
    for error_type, status in reversed(STATUS_BY_ERROR.items())
    if error_type is not DomainError
}

# Statuses that must not carry a body (RFC 9110 §15.3.5, §15.4.5).
_BODYLESS = frozenset({204, 304})


def problem_response(
    status: int, title: str, detail: str, *, slug: str, request: Request, **extensions: Any
) -> JSONResponse:
    """A problem document for `request`; extensions never replace the standard members.

    Response headers (`Retry-After`, ...) are set on the returned response by the caller.
    """
    return _problem(
        status, title, detail, slug=slug, instance=request.url.path, extensions=extensions
    )


def _problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, title, detail, slug=slug, instance=instance, extensions=extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem_body(error: DomainError, instance: str) -> dict[str, Any]:
    """The problem document of a domain error, for answers stored before they are sent."""
    return problem_body(
        status_for(error),
        error.title,
        error.detail,
        slug=error.slug,
        instance=instance,
        extensions=error.extensions,
    )


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    instance: str,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": current_request_id(),
    }
    # jsonable_encoder: a Decimal or datetime in an extension must not turn a 409 into a 500.
    for name, value in jsonable_encoder(dict(extensions or {})).items():
        body.setdefault(name, value)
    return body


def _reason_phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


def _title_and_slug(status: int) -> tuple[str, str]:
    if status in _DOMAIN_TITLES:
        return _DOMAIN_TITLES[status]
    phrase = _reason_phrase(status)
    if phrase is None:
        return "Error", "error"
    return phrase.capitalize(), phrase.lower().replace(" ", "-").replace("'", "")


async def _render_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return domain_error_response(error, request.url.path)


def domain_error_response(error: DomainError, instance: str) -> JSONResponse:
    """The problem response of a domain error (for ASGI apps that are no FastAPI route)."""
    # RFC 6750 §3: a 401 tells the client which scheme to authenticate with.
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, UnauthorizedError) else None
    return _problem(
        status_for(error),
        error.title,
        error.detail,
        slug=error.slug,
        instance=instance,
        extensions=error.extensions,
        headers=headers,
    )


async def _render_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    # Where and why per field; pydantic's `input` and `ctx` are dropped so that what the
    # client sent (a password, a card number) is never echoed back or logged by a proxy.
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
        for item in error.errors()
    ]
    count = len(errors)
    return _problem(
        422,
        "Validation failed",
        f"{count} field{'s' if count != 1 else ''} failed validation",
        slug="validation-failed",
        instance=request.url.path,
        extensions={"errors": errors},
    )


async def _render_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    if status in _BODYLESS:
        return Response(status_code=status, headers=error.headers)
    title, slug = _title_and_slug(status)
    path = request.url.path
    # Starlette's router raises these with the bare reason phrase; say what was wrong instead.
    default_detail = error.detail == _reason_phrase(status)
    if status == 404 and default_detail:
        detail = f"no resource at {path}"
    elif status == 405 and default_detail:
        detail = f"{request.method} is not allowed on {path}"
    elif isinstance(error.detail, str):
        detail = error.detail
    else:
        detail = title
    headers = error.headers
    if status == 405 and default_detail:
        # Starlette names the methods of the first route whose path matched; the resource has
        # every method of every route on that path (RFC 9110 §15.5.6).
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return _problem(status, title, detail, slug=slug, instance=path, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers on this path: asked of the router as if the request had
    come with each (an included router is a route of its own, without a list of methods)."""
    routes = [route for route in request.app.router.routes if isinstance(route, BaseRoute)]
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _internal_error(instance: str, error: Exception | None = None) -> JSONResponse:
    if error is not None and _is_dependency_outage(error):
        # The database or another dependency did not answer: not a bug, and worth a retry.
        title, slug = _title_and_slug(503)
        return _problem(
            503,
            title,
            "A dependency of this service did not answer in time; try again shortly.",
            slug=slug,
            instance=instance,
            headers={"Retry-After": "1"},
        )
    title, slug = _title_and_slug(500)
    return _problem(500, title, INTERNAL_ERROR_DETAIL, slug=slug, instance=instance)


def _is_unstorable_text(error: Exception) -> bool:
    """PostgreSQL refuses text holding a NUL character (SQLSTATE 22021), wherever it came in:
    a body field, a query or a path parameter. The client sent it, so it is theirs: a 422."""
    return isinstance(error, sa_exc.DBAPIError) and getattr(error.orig, "sqlstate", "") == "22021"


def answer_unhandled(method: str, path: str, error: Exception) -> JSONResponse:
    if _is_unstorable_text(error):
        log.info("refused %s %s: a text value holds a NUL character", method, path)
        title, slug = _title_and_slug(422)
        detail = "A text value holds a NUL character, which cannot be stored."
        return _problem(422, title, detail, slug=slug, instance=path)
    log_unhandled(method, path, error)
    return _internal_error(path, error)


def _is_dependency_outage(error: Exception) -> bool:
    # redis-py's connection errors are its own classes, not the builtins.
    if isinstance(error, TimeoutError | ConnectionError | RedisConnectionError | RedisTimeoutError):
        return True
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def log_unhandled(method: str, path: str, error: Exception) -> None:
    log.error("unhandled error on %s %s", method, path, exc_info=error)
    # The server span never sees the exception once it is turned into a response here.
    span = trace.get_current_span()
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


async def _render_unhandled_error(request: Request, error: Exception) -> Response:
    # Last resort for errors raised outside observed.ObservedRequests: Starlette calls it in
    # its outermost middleware, where the request id is already gone.
    return answer_unhandled(request.method, request.url.path, error)


def install_problem_handlers(app: FastAPI) -> None:
    """Domain errors, validation errors, HTTP errors and anything else, as problem+json."""
    app.add_exception_handler(DomainError, _render_domain_error)
    app.add_exception_handler(RequestValidationError, _render_validation_error)
    app.add_exception_handler(HTTPException, _render_http_error)
    app.add_exception_handler(Exception, _render_unhandled_error)
