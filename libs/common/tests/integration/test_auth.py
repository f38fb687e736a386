"""Token verification from a JWKS served over real HTTP, the route guards, service tokens."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from cloudmart_common.auth import AdminUser, CurrentUser, ServiceCaller
from cloudmart_common.errors import ServiceUnavailableError, UnauthorizedError
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.problem_details import install_problem_handlers
from cloudmart_common.service_token import ServiceTokenProvider
from cloudmart_common.settings import CommonSettings

ISSUER, AUDIENCE = "cloudmart-users", "cloudmart"
OLD_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEW_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class IdentityServer:
    """The users service's public face: a JWKS and a client-credentials token endpoint."""

    def __init__(self) -> None:
        self.keys = [_jwk(OLD_KEY, "old")]
        self.jwks_fetches = 0
        self.token_fetches = 0
        self.token_lifetime = 300
        self.app = FastAPI()
        self.app.get("/jwks.json")(self.jwks)
        self.app.post("/oauth/token")(self.issue)

    async def jwks(self) -> dict[str, Any]:
        self.jwks_fetches += 1
        return {"keys": self.keys}

    async def issue(self, request: Request) -> JSONResponse:
        self.token_fetches += 1
        credentials = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        if credentials != "orders:s3cret":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(
            {
                "access_token": f"token-{self.token_fetches}",
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
            }
        )


@pytest.fixture
def identity(serve: Callable[[Any], str]) -> tuple[IdentityServer, str]:
    server = IdentityServer()
    return server, serve(server.app)


def _settings(base: str, **overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "jwks_url": f"{base}/jwks.json",
        "service_token_url": f"{base}/oauth/token",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_min_refresh_interval_seconds": 30,
        "service_client_id": "orders",
        "service_client_secret": "s3cret",
    }
    return CommonSettings(**(values | overrides))


def _token(key: rsa.RSAPrivateKey = OLD_KEY, kid: str = "old", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "42",
        "role": "customer",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 3600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    } | claims
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def test_a_valid_token_gives_its_principal(identity: tuple[IdentityServer, str]) -> None:
    _, base = identity
    async with httpx.AsyncClient() as http:
        principal = await JwksVerifier(_settings(base), http).verify(_token())
    assert (principal.subject, principal.role, principal.user_id) == ("42", "customer", 42)


def _tampered() -> str:
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _alg_none() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"old"}').rstrip(b"=").decode()
    payload = _token().split(".")[1]
    return f"{header}.{payload}."


def _hs256_with_public_key() -> str:
    # The classic confusion attack: the public key (which anyone has) used as an HMAC secret.
    public_pem = OLD_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=")
        for part in (
            {"alg": "HS256", "kid": "old", "typ": "JWT"},
            json.loads(base64.urlsafe_b64decode(_token().split(".")[1] + "==")),
        )
    ]
    signing_input = b".".join(segments)
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


@pytest.mark.parametrize(
    ("make_token", "why"),
    [
        (lambda: _token(exp=int(time.time()) - 120), "expired"),
        (_tampered, "tampered"),
        (lambda: _token(aud="another-platform"), "wrong audience"),
        (lambda: _token(iss="https://evil.example"), "wrong issuer"),
        (lambda: _token(jti=None), "missing claim"),
        (lambda: _token(role="superuser"), "unknown role"),
        (_alg_none, "alg none"),
        (_hs256_with_public_key, "HS256 with the public key"),
        (lambda: "not.a.jwt", "garbage"),
    ],
)
async def test_bad_tokens_are_rejected(
    identity: tuple[IdentityServer, str], make_token: Callable[[], str], why: str
) -> None:
    _, base = identity
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnauthorizedError):
            await JwksVerifier(_settings(base), http).verify(make_token())


async def test_a_rotated_key_is_picked_up_with_one_refresh(
    identity: tuple[IdentityServer, str],
) -> None:
    server, base = identity
    async with httpx.AsyncClient() as http:
        verifier = JwksVerifier(_settings(base, jwks_min_refresh_interval_seconds=0), http)
        await verifier.verify(_token())
        server.keys = [_jwk(OLD_KEY, "old"), _jwk(NEW_KEY, "new")]  # the users service rotates
        principal = await verifier.verify(_token(NEW_KEY, "new"))
        await verifier.verify(_token())  # the old key still verifies during the overlap
    assert principal.subject == "42"
    assert server.jwks_fetches == 2


async def test_a_flood_of_unknown_kids_costs_one_jwks_fetch(
    identity: tuple[IdentityServer, str],
) -> None:
    server, base = identity
    async with httpx.AsyncClient() as http:
        verifier = JwksVerifier(_settings(base), http)
        await verifier.verify(_token())
        assert server.jwks_fetches == 1
        forged = [_token(kid=f"random-{n}") for n in range(50)]
        results = await asyncio.gather(
            *(verifier.verify(t) for t in forged), return_exceptions=True
        )
        more = await asyncio.gather(
            *(verifier.verify(_token(kid=f"again-{n}")) for n in range(20)), return_exceptions=True
        )
    assert all(isinstance(r, UnauthorizedError) for r in results + more)
    assert server.jwks_fetches == 1  # the first token filled the cache; the kid flood is free


def _guarded_app(verifier: JwksVerifier) -> FastAPI:
    app = FastAPI()
    app.state.jwt_verifier = verifier
    install_problem_handlers(app)

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"sub": user.subject}

    @app.get("/admin")
    async def admin(user: AdminUser) -> dict[str, str]:
        return {"sub": user.subject}

    @app.get("/internal/reserve")
    async def internal(caller: ServiceCaller) -> dict[str, str | None]:
        return {"service": caller.service_name}

    return app


def test_route_guards(identity: tuple[IdentityServer, str]) -> None:
    _, base = identity
    http = httpx.AsyncClient()
    client = TestClient(_guarded_app(JwksVerifier(_settings(base), http)))
    customer = {"Authorization": f"Bearer {_token()}"}
    admin = {"Authorization": f"Bearer {_token(role='admin', sub='1')}"}
    service = {"Authorization": f"Bearer {_token(role='service', sub='service:orders')}"}
    assert client.get("/me").status_code == 401
    assert client.get("/me").headers["www-authenticate"] == "Bearer"
    assert client.get("/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/me", headers=customer).json() == {"sub": "42"}
    assert client.get("/admin", headers=customer).status_code == 403
    assert client.get("/admin", headers=admin).status_code == 200
    assert client.get("/internal/reserve", headers=customer).status_code == 403
    assert client.get("/internal/reserve", headers=admin).status_code == 403
    assert client.get("/internal/reserve").status_code == 401
    assert client.get("/internal/reserve", headers=service).json() == {"service": "orders"}


async def test_service_tokens_are_fetched_once_cached_and_renewed(
    identity: tuple[IdentityServer, str],
) -> None:
    server, base = identity
    server.token_lifetime = 2  # renewed at the latest half-way through its life
    async with httpx.AsyncClient() as http:
        provider = ServiceTokenProvider(_settings(base), http)
        tokens = await asyncio.gather(*(provider.token() for _ in range(20)))
        assert set(tokens) == {"token-1"}
        assert await provider.token() == "token-1"
        assert server.token_fetches == 1
        deadline = time.monotonic() + 5
        while await provider.token() == "token-1":
            assert time.monotonic() < deadline, "token never renewed"
            await asyncio.sleep(0.1)
        assert server.token_fetches == 2
        provider.invalidate()
        assert await provider.token() == "token-3"


async def test_wrong_service_credentials_are_a_clear_503(
    identity: tuple[IdentityServer, str],
) -> None:
    _, base = identity
    async with httpx.AsyncClient() as http:
        provider = ServiceTokenProvider(_settings(base, service_client_secret="wrong"), http)
        with pytest.raises(ServiceUnavailableError, match="refused the service credentials"):
            await provider.token()
