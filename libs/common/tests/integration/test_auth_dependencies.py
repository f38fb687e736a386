"""The route guards on a FastAPI app whose verifier reads a JWKS served over loopback HTTP."""

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from cloudmart_common.auth import AdminUser, CurrentUser, OptionalUser, StockReserver
from cloudmart_common.errors import DomainError, status_for
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.settings import CommonSettings

SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SUBJECTS = {
    "customer": "42",
    "admin": "1",
    "service": "service:orders",
    "unscoped service": "service:dashboard",
}
SCOPES = {"service": "stock:reserve users:read", "unscoped service": ""}


class Jwks:
    """The users service's published key, counting how often it is fetched."""

    def __init__(self) -> None:
        self.fetches = 0
        self.app = FastAPI()
        self.app.get("/jwks.json")(self.keys)

    async def keys(self) -> dict[str, Any]:
        self.fetches += 1
        public = json.loads(RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
        return {"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]}


def _guarded_app(settings: CommonSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as http:
            app.state.jwt_verifier = JwksVerifier(settings, http)
            yield

    app = FastAPI(lifespan=lifespan)

    # Stands in for problem_details (built in parallel): only the status codes matter here.
    @app.exception_handler(DomainError)
    async def render(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=status_for(error))

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"sub": user.subject, "role": user.role, "user_id": user.user_id}

    @app.get("/admin/reports")
    async def reports(admin: AdminUser) -> dict[str, str]:
        return {"sub": admin.subject}

    @app.post("/internal/reservations")
    async def reserve(caller: StockReserver) -> dict[str, str | None]:
        return {"service": caller.service_name}

    @app.get("/products")
    async def products(user: OptionalUser) -> dict[str, str | None]:
        return {"sub": user.subject if user else None}

    return app


@pytest.fixture(scope="module")
def jwks(serve: Callable[[Any], str]) -> tuple[Jwks, str]:
    server = Jwks()
    return server, f"{serve(server.app)}/jwks.json"


@pytest.fixture(scope="module")
def client(jwks: tuple[Jwks, str]) -> Iterator[TestClient]:
    _, url = jwks
    settings = CommonSettings(jwks_url=url, jwt_issuer="cloudmart-users", jwt_audience="cloudmart")
    with TestClient(_guarded_app(settings)) as test_client:
        yield test_client


def _bearer(
    role: str, key: rsa.RSAPrivateKey = SIGNING_KEY, expires_in: int = 3600
) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "sub": SUBJECTS[role],
        "role": role.rpartition(" ")[2],
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + expires_in,
        "iss": "cloudmart-users",
        "aud": "cloudmart",
    }
    if role in SCOPES:
        claims["scope"] = SCOPES[role]
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path", "caller", "status"),
    [
        ("GET", "/me", None, 401),
        ("GET", "/me", "customer", 200),
        ("GET", "/me", "service", 200),
        ("GET", "/admin/reports", None, 401),
        ("GET", "/admin/reports", "customer", 403),
        ("GET", "/admin/reports", "service", 403),
        ("GET", "/admin/reports", "admin", 200),
        ("POST", "/internal/reservations", None, 401),
        ("POST", "/internal/reservations", "customer", 403),
        ("POST", "/internal/reservations", "admin", 403),
        ("POST", "/internal/reservations", "service", 200),
        ("POST", "/internal/reservations", "unscoped service", 403),
    ],
)
def test_who_may_call_which_route(
    client: TestClient, method: str, path: str, caller: str | None, status: int
) -> None:
    headers = _bearer(caller) if caller else {}
    assert client.request(method, path, headers=headers).status_code == status


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer nonsense", id="not-a-jwt"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Basic b3JkZXJzOnMzY3JldA==", id="basic-scheme"),
        pytest.param(_bearer("admin", key=STRANGER_KEY)["Authorization"], id="forged"),
        pytest.param(_bearer("admin", expires_in=-120)["Authorization"], id="expired"),
    ],
)
@pytest.mark.parametrize("path", ["/me", "/admin/reports", "/products"])
def test_a_bad_token_is_401_even_where_anonymous_callers_are_welcome(
    client: TestClient, path: str, authorization: str
) -> None:
    response = client.get(path, headers={"Authorization": authorization})
    assert response.status_code == 401
    credential = authorization.partition(" ")[2]
    assert not credential or credential not in response.text  # never echoed back


def test_a_customer_is_told_who_they_are(client: TestClient) -> None:
    body = client.get("/me", headers=_bearer("customer")).json()
    assert body == {"sub": "42", "role": "customer", "user_id": 42}


def test_a_service_caller_is_known_by_its_service_name(client: TestClient) -> None:
    response = client.post("/internal/reservations", headers=_bearer("service"))
    assert response.json() == {"service": "orders"}


def test_an_optional_user_is_none_without_a_token(client: TestClient) -> None:
    assert client.get("/products").json() == {"sub": None}
    assert client.get("/products", headers=_bearer("customer")).json() == {"sub": "42"}


def test_tokens_are_verified_without_calling_the_users_service_per_request(
    client: TestClient, jwks: tuple[Jwks, str]
) -> None:
    server, _ = jwks
    client.get("/me", headers=_bearer("customer"))
    fetched = server.fetches
    for role in ("customer", "admin", "service") * 5:
        assert client.get("/me", headers=_bearer(role)).status_code == 200
    assert server.fetches == fetched == 1


def test_the_openapi_document_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]
