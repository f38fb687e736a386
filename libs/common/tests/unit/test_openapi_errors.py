"""The OpenAPI document says what every route answers when it fails: problem+json, by cause."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header
from pydantic import BaseModel

from cloudmart_common.auth import AdminUser, CurrentUser, StockReserver
from cloudmart_common.problem_details import PROBLEM_JSON

router = APIRouter()


class ThingIn(BaseModel):
    name: str


@router.get("/open")
async def open_route() -> dict[str, str]:
    return {}


@router.get("/things/{thing_id}")
async def read_thing(thing_id: int, user: CurrentUser) -> dict[str, str]:
    return {}


@router.post("/things", responses={409: {"description": "The name is taken"}})
async def make_thing(
    body: ThingIn, admin: AdminUser, key: Annotated[str, Header(alias="Idempotency-Key")]
) -> dict[str, str]:
    return {}


@router.get("/internal/things")
async def internal_things(caller: StockReserver) -> dict[str, str]:
    return {}


def _responses(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def test_each_route_documents_the_errors_its_dependencies_can_answer(
    make_app: Callable[..., FastAPI],
) -> None:
    document = make_app(router).openapi()

    assert set(_responses(document, "get", "/open")) == {"200", "503"}
    assert set(_responses(document, "get", "/things/{thing_id}")) == {
        "200", "401", "404", "422", "503",
    }  # fmt: skip
    assert set(_responses(document, "post", "/things")) == {
        "200", "400", "401", "403", "409", "422", "503",
    }  # fmt: skip
    assert set(_responses(document, "get", "/internal/things")) == {"200", "401", "403", "503"}
    assert set(_responses(document, "get", "/health")) == {"200"}  # liveness needs nothing
    made = _responses(document, "post", "/things")
    assert made["409"]["description"] == "The name is taken"  # the route's own words stay


def test_every_error_is_problem_json_and_validation_errors_say_where(
    make_app: Callable[..., FastAPI],
) -> None:
    document = make_app(router).openapi()

    for path, operations in document["paths"].items():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path != "/ready":
                    assert list(response["content"]) == [PROBLEM_JSON], (path, status)
    schemas = document["components"]["schemas"]
    validation = _responses(document, "post", "/things")["422"]["content"][PROBLEM_JSON]
    assert validation["schema"] == {"$ref": "#/components/schemas/ValidationProblem"}
    assert "HTTPValidationError" not in schemas
    assert {"type", "title", "status", "detail", "instance"} <= set(schemas["Problem"]["required"])
    assert schemas["ValidationProblem"]["properties"]["errors"]["type"] == "array"
