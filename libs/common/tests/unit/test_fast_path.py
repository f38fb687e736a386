"""A fast path beside FastAPI: what it answers and what it hands back are each observed once
(one request id, one count under the route template, one last-resort 500)."""

import logging
from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from cloudmart_common.context import current_request_id
from cloudmart_common.fast_path import FastPathApp, fall_through
from cloudmart_common.metrics import ROUTE_KEY
from cloudmart_common.observed import ObservedRequests

router = APIRouter()


@router.get("/api/gadgets/{gadget_id}")
async def gadget(gadget_id: int) -> dict[str, int | str | None]:
    return {"id": gadget_id, "by": "route", "request_id": current_request_id()}


@router.get("/api/gadgets/{gadget_id}/crash")
async def crash(gadget_id: int) -> None:
    raise RuntimeError("boom")


class Gadgets:
    """Answers gadget 1 itself; hands every other gadget to the routes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != "/api/gadgets/1":
            await fall_through(self.app, scope, receive, send)
            return
        scope[ROUTE_KEY] = "/api/gadgets/{gadget_id}"
        body = b'{"id":1,"by":"fast path"}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def client(make_app: Callable[..., FastAPI]) -> TestClient:
    app = make_app(router)
    fast = FastPathApp(
        app, ObservedRequests(Gadgets(app)), lambda scope: scope["path"].startswith("/api/")
    )
    return TestClient(fast, raise_server_exceptions=False)


def _count(route: str, status: int) -> float:
    labels = {"method": "GET", "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.mark.parametrize(
    ("path", "by"), [("/api/gadgets/1", "fast path"), ("/api/gadgets/2", "route")]
)
def test_each_request_is_counted_once_under_its_route_with_one_id(
    client: TestClient, path: str, by: str
) -> None:
    before = _count("/api/gadgets/{gadget_id}", 200)
    response = client.get(path)
    assert response.json()["by"] == by
    [request_id] = response.headers.get_list("x-request-id")
    if by == "route":  # the route ran under the id the client got
        assert response.json()["request_id"] == request_id
    assert _count("/api/gadgets/{gadget_id}", 200) == before + 1


def test_an_unhandled_error_after_a_fall_through_is_one_logged_500_problem(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = _count("/api/gadgets/{gadget_id}/crash", 500)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/gadgets/2/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get_list("x-request-id") == [response.json()["request_id"]]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "unhandled error on GET /api/gadgets/2/crash"
    ]
    assert _count("/api/gadgets/{gadget_id}/crash", 500) == before + 1


def test_what_the_fast_path_does_not_claim_is_fastapis(client: TestClient) -> None:
    response = client.get("/health")
    assert response.json()["status"] == "ok"
    assert len(response.headers.get_list("x-request-id")) == 1
