"""Every route's error answers in its OpenAPI document, as the problem+json they are.

FastAPI documents a 422 as `application/json` HTTPValidationError and nothing else, while every
error of a service is an RFC 9457 problem document (problem_details). `install` rewrites the
document once, when /openapi.json is first built:

- each 4xx/5xx a route declares (`responses={409: {"description": ...}}`) gets the Problem
  schema under application/problem+json, and every 422 (FastAPI's own included) the
  ValidationProblem one;
- what the shared code answers by itself is added to the routes it applies to: 400 where a body
  is parsed (bytes that are not text), 401 where a bearer token is read (cloudmart_common.auth),
  403 where only admins or services get in, 404 where the path names a resource, 409 where an
  Idempotency-Key is claimed (the first request with it still runs), and 503 everywhere but the
  liveness probe (a dependency did not answer in time).
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from cloudmart_common.auth import SERVICE_GATES, optional_user, require_admin
from cloudmart_common.problem_details import PROBLEM_JSON

REF = "#/components/schemas/"
LIVENESS_PATH = "/health"


class Problem(BaseModel):
    """An RFC 9457 problem document; extension members (`errors`, `decline_code`...) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed")
    request_id: str | None = Field(description="The X-Request-ID, to find it in the logs")


class ProblemFieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field")
    msg: str
    type: str | None


class ValidationProblem(Problem):
    """A 422: `errors` when the request did not validate; a rule of the service has none."""

    errors: list[ProblemFieldError] = Field(default_factory=list)


def problem_content(schema_name: str = "Problem") -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": REF + schema_name}}}


def problem_schemas() -> dict[str, Any]:
    """The components the problem responses refer to."""
    schemas: dict[str, Any] = {}
    for model in (Problem, ValidationProblem):
        schema = model.model_json_schema(ref_template=REF + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


# What the shared code answers by itself, and when (see the module's docstring).
COMMON_ANSWERS = {
    400: "The body could not be read (not text in the declared encoding)",
    401: "No, a malformed, an expired or a forged bearer token",
    403: "The caller's role may not do this",
    404: "Nothing at this path (or nothing the caller may see)",
    409: "A request with this Idempotency-Key is still being processed",
    503: "A dependency did not answer in time; retry after Retry-After seconds",
}


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _header_names(dependant: Dependant) -> Iterator[str]:
    for field in dependant.header_params:
        yield field.alias.lower()
    for dependency in dependant.dependencies:
        yield from _header_names(dependency)


def _common_statuses(route: APIRoute, path: str) -> set[int]:
    calls = set(_dependency_calls(route.dependant))
    headers = set(_header_names(route.dependant))
    statuses = {503} if path != LIVENESS_PATH else set()
    if route.body_field is not None:
        statuses.add(400)
    if optional_user in calls:
        statuses.add(401)
    if require_admin in calls or calls & SERVICE_GATES:
        statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if "idempotency-key" in headers:
        statuses.add(409)
    return statuses


def _routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, str, APIRoute]]:
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            for method in sorted(context.methods or ()):
                yield context.path_format, method.lower(), route


def document_errors(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Problem responses on every operation of `document` (FastAPI's, built from `routes`)."""
    for path, method, route in _routes(routes):
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for common in sorted(_common_statuses(route, path)):
            responses.setdefault(str(common), {"description": COMMON_ANSWERS[common]})
        for code, response in responses.items():
            if not code.isdigit() or int(code) < 400:
                continue
            content = response.get("content", {})
            if code == "422" and "HTTPValidationError" in str(content):
                response["description"] = "The request failed validation; `errors` says where"
                response["content"] = problem_content("ValidationProblem")
            elif not content:  # a 422 a route describes also covers validation failures
                response["content"] = problem_content(
                    "ValidationProblem" if code == "422" else "Problem"
                )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if schemas.pop("HTTPValidationError", None) is not None:  # and the item schema it used
        schemas.pop("ValidationError", None)
    schemas.update(problem_schemas())


def install(app: FastAPI) -> None:
    """Build the app's OpenAPI document with `document_errors` applied (once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(build(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
