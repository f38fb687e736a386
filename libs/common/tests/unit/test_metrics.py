"""RED metrics are labelled by route template, never by the raw path."""

from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

router = APIRouter()


@router.get("/api/things/{thing_id}")
async def get_thing(thing_id: int) -> dict[str, int]:
    return {"id": thing_id}


def _count(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0


def test_requests_are_counted_by_route_template(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(router)
    before = _count("/api/things/{thing_id}", "200")
    unmatched_before = _count("<unmatched>", "404")
    with TestClient(app) as client:
        for thing_id in (1, 2, 3):
            assert client.get(f"/api/things/{thing_id}").status_code == 200
        assert client.get("/no/such/path/123").status_code == 404
        exposition = client.get("/metrics").text
    assert _count("/api/things/{thing_id}", "200") == before + 3
    assert _count("<unmatched>", "404") == unmatched_before + 1
    assert "/api/things/1" not in exposition
    assert "/no/such/path" not in exposition
