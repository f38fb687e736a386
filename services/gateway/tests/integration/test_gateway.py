"""The gateway with the whole stack behind it: routing, edge auth, limits, health, docs."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudmart_local.secrets import JWT_KEYS_DIR
from tests.accounts import PASSWORD, Account, admin, new_customer
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url, stopped, wait_for

GATEWAY = service_url("gateway")


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=GATEWAY, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


@pytest.fixture(scope="module")
def buyer() -> Account:
    return new_customer("edge")


def test_each_route_reaches_its_service(http: httpx.Client, buyer: Account, staff: Account) -> None:
    request_id = f"gw-{uuid.uuid4().hex}"
    products = http.get("/api/products?limit=1", headers={"X-Request-ID": request_id})
    assert products.status_code == 200
    assert products.headers["X-Request-ID"] == request_id
    assert "items" in products.json()

    me = http.get("/api/users/me", headers=buyer.headers)
    assert me.json()["id"] == buyer.user_id
    assert http.get(f"/api/orders/user/{buyer.user_id}", headers=buyer.headers).json() == {
        "items": [],
        "next_cursor": None,
    }
    assert http.get("/api/payments/methods", headers=buyer.headers).status_code == 200
    assert http.get("/api/notifications/templates", headers=staff.headers).status_code == 200
    # The dashboard answers for /api/analytics (a 404 problem of its own until it has routes).
    analytics = http.get("/api/analytics/windows", headers=staff.headers)
    assert analytics.headers["content-type"].startswith("application/")


def test_a_checkout_through_the_gateway(http: httpx.Client, buyer: Account, staff: Account) -> None:
    product = new_product(staff, price=42)

    response = place(http, buyer, order_body([(product["id"], 2)]))

    assert response.status_code == 201, response.text
    assert response.json()["total_amount"] == 84
    assert response.headers["Idempotent-Replayed"] == "false"


def test_problem_documents_and_statuses_pass_through(http: httpx.Client, buyer: Account) -> None:
    missing = http.get("/api/products/999999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/product-not-found")
    invalid = http.post("/api/users/register", json={"username": "x"})
    assert invalid.status_code == 422


def test_a_stopped_service_fails_fast_others_keep_working_and_it_recovers(
    http: httpx.Client, staff: Account
) -> None:
    with stopped("notifications"):
        started = time.monotonic()
        down = http.get("/api/notifications/templates", headers=staff.headers)
        elapsed = time.monotonic() - started
        assert down.status_code == 503, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert elapsed < 3, f"took {elapsed:.2f} s"
        assert http.get("/api/products?limit=1").status_code == 200
        health = http.get("/health/services").json()
        assert health["status"] == "degraded"
        assert health["services"]["notifications"]["status"] == "down"

    wait_for(
        lambda: http.get("/api/notifications/templates", headers=staff.headers).status_code == 200,
        timeout=90,
        interval=2,
        what="the gateway to route to notifications again",
    )


def _token(user_id: int, *, expires_in: int, signing_key: Any) -> str:
    """An admin token with the users service's kid, claims and all, signed by `signing_key`."""
    newest = max(Path(JWT_KEYS_DIR).glob("*.pem"))
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": "admin",
        "iss": "cloudmart-users",
        "aud": "cloudmart",
        "iat": now - 7200,
        "exp": now + expires_in,
        "jti": uuid.uuid4().hex,
    }
    key = signing_key if signing_key is not None else newest.read_text()
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": newest.stem})


def _expired_token(user_id: int) -> str:
    return _token(user_id, expires_in=-3600, signing_key=None)  # the real key


def _forged_token(user_id: int) -> str:
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _token(user_id, expires_in=600, signing_key=own_key)


@pytest.mark.parametrize("kind", ["forged", "expired", "alg-none", "garbage", "no-scheme"])
def test_bad_tokens_are_refused_at_the_gateway(
    http: httpx.Client, buyer: Account, kind: str
) -> None:
    tokens = {
        "forged": _forged_token(buyer.user_id),
        "expired": _expired_token(buyer.user_id),
        "alg-none": jwt.encode(
            {"sub": str(buyer.user_id), "role": "admin"},
            "",
            algorithm="none",
        ),
        "garbage": "not.a.jwt",
        "no-scheme": "",
    }
    token = tokens[kind]
    header = f"Bearer {token}" if kind != "no-scheme" else "Basic abc"

    response = http.get("/api/orders", headers={"Authorization": header})

    assert response.status_code == 401, response.text
    assert response.json()["instance"] == "/api/orders"
    assert http.get("/api/orders").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/internal/users/1",
        "/internal/reservations",
        "/api/users/../../internal/users/1",
        "/api/users/%2e%2e/%2e%2e/internal/users/1",
        "/api/internal/users/1",
        "/api/unknown/thing",
    ],
)
def test_internal_endpoints_are_not_reachable_from_outside(http: httpx.Client, path: str) -> None:
    response = http.send(http.build_request("GET", GATEWAY + path))
    assert response.status_code == 404, response.text


def test_the_login_limit_answers_429_with_retry_after(http: httpx.Client) -> None:
    victim = f"victim{uuid.uuid4().hex[:8]}"
    attempts = [
        http.post("/api/users/login", json={"username": victim, "password": "guess"})
        for _ in range(11)
    ]

    assert [a.status_code for a in attempts[:10]] == [401] * 10
    limited = attempts[10]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["RateLimit-Remaining"] == "0"
    # Another account from the same address is not locked out by it.
    other = http.post("/api/users/login", json={"username": f"x{victim}", "password": PASSWORD})
    assert other.status_code == 401


def test_an_oversize_body_is_a_413(http: httpx.Client) -> None:
    huge = b'{"username": "' + b"a" * 1_100_000 + b'"}'
    declared = http.post(
        "/api/users/register", content=huge, headers={"Content-Type": "application/json"}
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    streamed = http.post(
        "/api/users/register", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json()["type"].endswith("/payload-too-large")


def test_health_of_every_service_in_one_document(http: httpx.Client) -> None:
    response = http.get("/health/services")

    assert response.status_code == 200
    services = response.json()["services"]
    assert set(services) == {
        "users",
        "products",
        "orders",
        "payments",
        "notifications",
        "dashboard",
    }
    for entry in services.values():
        [instance] = entry["instances"].values()
        assert instance["latency_ms"] < 3000
    assert http.get("/health").json()["status"] == "ok"


def test_cors_for_the_web_origin_and_security_headers(http: httpx.Client) -> None:
    preflight = http.options(
        "/api/orders",
        headers={
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key,content-type",
        },
    )
    stranger = http.options(
        "/api/orders",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    plain = http.get("/api/products?limit=1")

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5000"
    assert "access-control-allow-origin" not in stranger.headers
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert plain.headers["X-Frame-Options"] == "DENY"
    assert "server" not in plain.headers
    assert plain.headers["RateLimit-Limit"].isdigit()
    assert plain.headers["RateLimit-Remaining"].isdigit()
    assert plain.headers["RateLimit-Reset"].isdigit()


def test_one_openapi_document_for_the_public_api(http: httpx.Client) -> None:
    document = http.get("/api/openapi.json").json()

    paths = set(document["paths"])
    for expected in (
        "/api/users/login",
        "/api/products",
        "/api/orders",
        "/api/payments/refund",
        "/api/notifications/templates",
    ):
        assert expected in paths
    assert not [p for p in paths if not p.startswith("/api/")]
    assert "OrdersOrderIn" in document["components"]["schemas"]
    assert http.get("/api/docs").status_code == 200


def test_the_events_asyncapi_document_is_served_and_linked_from_the_api_docs(
    http: httpx.Client,
) -> None:
    as_json = http.get("/api/asyncapi.json")
    as_yaml = http.get("/api/asyncapi.yaml")

    assert as_json.status_code == 200, as_json.text
    document = as_json.json()
    assert document["asyncapi"] == "3.0.0"
    assert {"orders", "payments", "notifications", "analytics-results"} <= set(document["channels"])
    assert as_yaml.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert "/api/asyncapi.json" in http.get("/api/openapi.json").json()["info"]["description"]


def test_login_limits_key_on_the_client_behind_trusted_proxies_only(http: httpx.Client) -> None:
    """Locally loopback is the trusted proxy (as the Ingress is in the cluster): the address it
    forwards for is the client. An untrusted hop's own entries are the client's words."""
    victim = f"victim{uuid.uuid4().hex[:8]}"

    def login(forwarded_for: str) -> int:
        return http.post(
            "/api/users/login",
            json={"username": victim, "password": "guess"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code

    # Through a trusted hop, each client has its own limit on the victim's name.
    assert [login("203.0.113.10") for _ in range(11)] == [401] * 10 + [429]
    assert login("203.0.113.11") == 401  # another client is not locked out by the first
    # Behind an untrusted proxy (198.51.100.9), whatever it claims on the left is not believed:
    # both "clients" are that proxy, and share one limit.
    assert [login(f"192.0.2.{n}, 198.51.100.9") for n in range(10)] == [401] * 10
    assert login("192.0.2.99, 198.51.100.9") == 429
