"""Every error is RFC 9457 problem+json with the right status, a request id and no stack trace."""

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.exceptions
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, OperationalError

from cloudmart_common.errors import (
    STATUS_BY_ERROR,
    ConflictError,
    DomainError,
    UnauthorizedError,
)
from cloudmart_common.problem_details import (
    INTERNAL_ERROR_DETAIL,
    install_problem_handlers,
    problem_response,
)

SECRET = "postgres://admin:hunter2@db"


class OutOfStock(ConflictError):
    title, slug = "Out of stock", "out-of-stock"


class OrderIn(BaseModel):
    product_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=100)


router = APIRouter()
to_raise: dict[str, Exception] = {}


@router.post("/orders")
async def create_order(order: OrderIn) -> dict[str, int]:
    return {"product_id": order.product_id}


@router.get("/raise/{name}")
async def raise_error(name: str) -> None:
    raise to_raise[name]


@router.get("/rate-limited")
async def rate_limited(request: Request) -> JSONResponse:
    response = problem_response(
        429, "Too many requests", "slow down", slug="rate-limited", request=request, limit=10
    )
    response.headers["Retry-After"] = "3"
    return response


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app(router), raise_server_exceptions=False)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document, once its status, media type and request id are checked."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(body)
    assert body["type"].startswith("https://cloudmart.dev/problems/")
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_validation_errors_are_422_with_each_field_and_no_input(client: TestClient) -> None:
    response = client.post("/orders", json={"product_id": -1, "quantity": "card 4242424242424242"})
    body = _problem(response, 422)
    assert body["type"] == "https://cloudmart.dev/problems/validation-failed"
    assert body["detail"] == "2 fields failed validation"
    by_field = {tuple(error["loc"]): error for error in body["errors"]}
    assert set(by_field) == {("body", "product_id"), ("body", "quantity")}
    assert by_field["body", "product_id"]["type"] == "greater_than"
    assert "greater than 0" in by_field["body", "product_id"]["msg"]
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert "4242424242424242" not in response.text


def test_a_body_that_is_not_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    body = _problem(response, 422)
    assert body["errors"][0]["type"] == "json_invalid"


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = _problem(client.get("/no/such/thing"), 404)
    assert body["instance"] == "/no/such/thing"
    assert body["type"] == "https://cloudmart.dev/problems/not-found"
    assert body["detail"] == "no resource at /no/such/thing"


def test_a_wrong_method_is_a_405_problem_keeping_allow(client: TestClient) -> None:
    response = client.delete("/orders")
    body = _problem(response, 405)
    assert body["type"] == "https://cloudmart.dev/problems/method-not-allowed"
    assert body["detail"] == "DELETE is not allowed on /orders"
    assert response.headers["allow"] == "POST"


def test_an_http_exception_keeps_its_status_detail_and_headers(client: TestClient) -> None:
    to_raise["teapot"] = HTTPException(418, "no coffee here", headers={"X-Brew": "tea"})
    response = client.get("/raise/teapot")
    body = _problem(response, 418)
    assert body["detail"] == "no coffee here"
    assert response.headers["x-brew"] == "tea"


@pytest.mark.parametrize(
    ("error_type", "status"),
    STATUS_BY_ERROR.items(),
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_each_domain_error_maps_to_its_status(
    client: TestClient, error_type: type[DomainError], status: int
) -> None:
    to_raise[error_type.__name__] = error_type("something specific")
    body = _problem(client.get(f"/raise/{error_type.__name__}"), status)
    assert body["type"] == f"https://cloudmart.dev/problems/{error_type.slug}"
    assert body["title"] == error_type.title
    assert body["detail"] == "something specific"
    assert body["instance"] == f"/raise/{error_type.__name__}"


def test_a_service_error_subclass_takes_its_parents_status_and_keeps_its_extensions(
    client: TestClient,
) -> None:
    to_raise["out-of-stock"] = OutOfStock("only 2 left of product 7", product_id=7, available=2)
    body = _problem(client.get("/raise/out-of-stock"), 409)
    assert body["type"] == "https://cloudmart.dev/problems/out-of-stock"
    assert body["title"] == "Out of stock"
    assert (body["product_id"], body["available"]) == (7, 2)


def test_extensions_never_replace_standard_members_and_may_be_decimals(
    client: TestClient,
) -> None:
    to_raise["clash"] = ConflictError(
        "order already shipped", status="shipped", type="x", request_id="forged", total=Decimal(5)
    )
    response = client.get("/raise/clash")
    body = _problem(response, 409)
    assert body["type"] == "https://cloudmart.dev/problems/conflict"
    assert body["total"] == 5


def test_401_tells_the_client_to_use_bearer_tokens(client: TestClient) -> None:
    to_raise["unauthorized"] = UnauthorizedError("token expired")
    response = client.get("/raise/unauthorized")
    _problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_unhandled_error_is_a_logged_500_problem_without_internals(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    to_raise["crash"] = RuntimeError(f"cannot connect to {SECRET}")
    with caplog.at_level(logging.ERROR, logger="cloudmart_common.problem_details"):
        response = client.get("/raise/crash")
    body = _problem(response, 500)
    assert body["detail"] == INTERNAL_ERROR_DETAIL
    for leak in ("Traceback", "RuntimeError", "hunter2", "postgres://", ".py", "line "):
        assert leak not in response.text
    [record] = [r for r in caplog.records if r.name == "cloudmart_common.problem_details"]
    assert record.getMessage() == "unhandled error on GET /raise/crash"
    assert record.exc_info is not None
    assert record.exc_info[1] is to_raise["crash"]


def test_the_problem_helper_renders_other_modules_problems(client: TestClient) -> None:
    response = client.get("/rate-limited")
    body = _problem(response, 429)
    assert body == {
        "type": "https://cloudmart.dev/problems/rate-limited",
        "title": "Too many requests",
        "status": 429,
        "detail": "slow down",
        "instance": "/rate-limited",
        "request_id": response.headers["x-request-id"],
        "limit": 10,
    }
    assert response.headers["retry-after"] == "3"


def test_the_handlers_alone_still_render_an_unhandled_error_as_a_problem() -> None:
    # An app that is not built by create_service_app (no request-id middleware).
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError(SECRET)

    response = TestClient(app, raise_server_exceptions=False).get("/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == INTERNAL_ERROR_DETAIL
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        ConnectionRefusedError(111, "Connection refused"),
        OperationalError("SELECT 1", {}, Exception(SECRET)),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:16379."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
)
def test_a_dependency_that_does_not_answer_is_a_503_to_retry(
    client: TestClient, error: Exception
) -> None:
    to_raise["outage"] = error

    response = client.get("/raise/outage")

    body = _problem(response, 503)
    assert response.headers["Retry-After"] == "1"
    assert SECRET not in response.text
    assert "try again" in body["detail"]


class _NulRefused(Exception):
    sqlstate = "22021"  # what asyncpg (through SQLAlchemy) reports for a NUL in text


def test_text_with_a_nul_character_postgresql_refuses_is_a_422_not_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    to_raise["nul"] = DBAPIError("INSERT INTO t VALUES ($1)", {}, _NulRefused(SECRET))
    with caplog.at_level(logging.INFO, logger="cloudmart_common.problem_details"):
        response = client.get("/raise/nul")

    body = _problem(response, 422)
    assert "NUL" in body["detail"]
    assert SECRET not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # the client's fault
