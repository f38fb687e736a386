"""Every error is RFC 9457 problem+json with the right status, a request id and no stack trace."""

from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from cloudmart_common.errors import (
    STATUS_BY_ERROR,
    ConflictError,
    DomainError,
    UnauthorizedError,
)


class OutOfStock(ConflictError):
    title, slug = "Out of stock", "out-of-stock"


class OrderIn(BaseModel):
    product_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=100)


router = APIRouter()
raised: dict[str, DomainError] = {}


@router.post("/orders")
async def create_order(order: OrderIn) -> dict[str, int]:
    return {"product_id": order.product_id}


@router.get("/raise/{name}")
async def raise_domain_error(name: str) -> None:
    raise raised[name]


@router.get("/out-of-stock")
async def out_of_stock() -> None:
    raise OutOfStock("only 2 left of product 7", available=2)


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("secret connection string postgres://admin:hunter2@db")


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    return TestClient(make_app(router), raise_server_exceptions=False)


def _assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(body)
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]
    return body


def test_validation_errors_are_422_with_each_field(client: TestClient) -> None:
    response = client.post("/orders", json={"product_id": -1, "quantity": "lots"})
    body = _assert_problem(response, 422)
    fields = {tuple(error["loc"]) for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {("body", "product_id"), ("body", "quantity")}


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = _assert_problem(client.get("/no/such/thing"), 404)
    assert body["instance"] == "/no/such/thing"


def test_a_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/orders")
    _assert_problem(response, 405)
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize(("error_type", "status"), STATUS_BY_ERROR.items())
def test_each_domain_error_maps_to_its_status(
    client: TestClient, error_type: type[DomainError], status: int
) -> None:
    raised[error_type.__name__] = error_type("something specific")
    body = _assert_problem(client.get(f"/raise/{error_type.__name__}"), status)
    assert body["detail"] == "something specific"
    assert body["type"] == f"https://cloudmart.dev/problems/{error_type.slug}"


def test_a_service_error_subclass_takes_its_parents_status_and_keeps_its_extensions(
    client: TestClient,
) -> None:
    body = _assert_problem(client.get("/out-of-stock"), 409)
    assert body["title"] == "Out of stock"
    assert body["available"] == 2


def test_401_tells_the_client_to_use_bearer_tokens(client: TestClient) -> None:
    raised["unauthorized"] = UnauthorizedError("token expired")
    response = client.get("/raise/unauthorized")
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_unhandled_error_is_a_500_problem_without_internals(client: TestClient) -> None:
    response = client.get("/crash")
    body = _assert_problem(response, 500)
    text = response.text
    for leak in ("Traceback", "RuntimeError", "hunter2", "postgres://", ".py", "line "):
        assert leak not in text
    assert body["detail"] == "The server could not complete the request; it has been logged."
