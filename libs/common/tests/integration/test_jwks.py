"""JwksVerifier against a JWKS served over real loopback HTTP: what it accepts, what it fetches."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from jwt.algorithms import RSAAlgorithm

from cloudmart_common.errors import UnauthorizedError
from cloudmart_common.jwks import REQUIRED_CLAIMS, JwksVerifier
from cloudmart_common.settings import CommonSettings

ISSUER, AUDIENCE = "cloudmart-users", "cloudmart"
OLD_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
NEW_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

Serve = Callable[[Any], str]


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return public | {"kid": kid, "use": "sig", "alg": "RS256"}


class JwksServer:
    """The users service's JWKS endpoint; counts fetches and can be slow or broken on demand."""

    def __init__(self) -> None:
        self.reset()
        self.app = FastAPI()
        self.app.get("/jwks.json")(self.jwks)

    def reset(self) -> None:
        self.keys = [_jwk(OLD_KEY, "old")]
        self.fetches = 0
        self.delay_seconds = 0.0
        self.broken: Response | None = None  # answered instead of the key set when set

    async def jwks(self) -> Response:
        self.fetches += 1
        await asyncio.sleep(self.delay_seconds)  # holds the fetch in flight for concurrency
        return self.broken or JSONResponse({"keys": self.keys})


@pytest.fixture(scope="module")
def jwks_server(serve: Serve) -> tuple[JwksServer, str]:
    server = JwksServer()
    return server, f"{serve(server.app)}/jwks.json"


@pytest.fixture
def jwks(jwks_server: tuple[JwksServer, str]) -> tuple[JwksServer, str]:
    """The module's JWKS server, as new: one server, not one per test, to start and stop."""
    jwks_server[0].reset()
    return jwks_server


def _settings(jwks_url: str, **overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "jwks_url": jwks_url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_min_refresh_interval_seconds": 60,
    }
    return CommonSettings(**(values | overrides))


def _token(
    key: rsa.RSAPrivateKey = OLD_KEY, kid: str = "old", algorithm: str = "RS256", **claims: Any
) -> str:
    """A token as the users service signs it; a claim given as None is left out."""
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
    present = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(present, key, algorithm=algorithm, headers={"kid": kid})


def _token_without(claim: str) -> str:
    omitted: dict[str, Any] = {claim: None}
    return _token(**omitted)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return payload


def _tampered() -> str:
    header, _, signature = _token().split(".")
    forged = _claims_of(_token()) | {"role": "admin"}
    return f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"


def _alg_none() -> str:
    return jwt.encode(_claims_of(_token()), "", algorithm="none", headers={"kid": "old"})


def _hs256_signed_with_the_public_key() -> str:
    # The algorithm-confusion attack: the public key, which anyone can fetch, as an HMAC secret.
    # Made by hand because PyJWT itself refuses to sign HS256 with a PEM key.
    public_pem = OLD_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "old", "typ": "JWT"}
    header_part, payload_part = (
        _b64(json.dumps(part).encode()) for part in (header, _claims_of(_token()))
    )
    signing_input = f"{header_part}.{payload_part}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


async def _accepted(verifier: JwksVerifier, token: str) -> bool:
    try:
        await verifier.verify(token)
    except UnauthorizedError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_valid_token_verifies_to_its_principal(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    server, url = jwks
    verifier = JwksVerifier(_settings(url), http)
    token = _token(jti="token-1")
    principal = await verifier.verify(token)
    assert (principal.subject, principal.role, principal.token_id) == ("42", "customer", "token-1")
    assert (principal.user_id, principal.service_name, principal.is_admin) == (42, None, False)
    assert principal.claims["iss"] == ISSUER
    await verifier.verify(_token())
    assert server.fetches == 1  # verified locally: the cached key set, not a call per request


async def test_a_service_token_names_its_service(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    _, url = jwks
    principal = await JwksVerifier(_settings(url), http).verify(
        _token(sub="service:orders", role="service")
    )
    assert (principal.is_service, principal.service_name, principal.user_id) == (
        True,
        "orders",
        None,
    )


@pytest.mark.parametrize(
    ("make_token", "detail"),
    [
        pytest.param(lambda: _token(exp=int(time.time()) - 120), "expired", id="expired"),
        pytest.param(_tampered, "signature invalid", id="tampered"),
        pytest.param(lambda: _token(aud="another-platform"), "audience", id="wrong-audience"),
        pytest.param(lambda: _token(iss="https://evil.example"), "issuer", id="wrong-issuer"),
        *(
            pytest.param(lambda claim=claim: _token_without(claim), claim, id=f"no-{claim}")
            for claim in REQUIRED_CLAIMS
        ),
        pytest.param(lambda: _token(iat=int(time.time()) + 3600), "not yet", id="future-iat"),
        pytest.param(lambda: _token(role="superuser"), "role", id="unknown-role"),
        pytest.param(_alg_none, "algorithm", id="alg-none"),
        pytest.param(_hs256_signed_with_the_public_key, "algorithm", id="hs256-public-key"),
        pytest.param(lambda: _token(algorithm="RS512"), "algorithm", id="rs512"),
        pytest.param(lambda: _token(algorithm="PS256"), "algorithm", id="ps256"),
        pytest.param(lambda: _token(NEW_KEY, kid="old"), "signature invalid", id="wrong-key"),
        pytest.param(lambda: "not.a.jwt", "malformed", id="garbage"),
    ],
)
async def test_a_bad_token_is_refused_with_a_short_safe_reason(
    jwks: tuple[JwksServer, str],
    http: httpx.AsyncClient,
    make_token: Callable[[], str],
    detail: str,
) -> None:
    _, url = jwks
    verifier = JwksVerifier(_settings(url), http)
    await verifier.verify(_token())  # keys cached: refusals are about the token, not the keys
    token = make_token()
    with pytest.raises(UnauthorizedError) as refused:
        await verifier.verify(token)
    assert detail in refused.value.detail
    assert token not in refused.value.detail
    assert len(refused.value.detail) < 60


async def test_a_rotated_key_is_picked_up_with_exactly_one_refresh(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    server, url = jwks
    verifier = JwksVerifier(_settings(url, jwks_min_refresh_interval_seconds=0), http)
    await verifier.verify(_token())
    assert server.fetches == 1
    server.keys = [_jwk(OLD_KEY, "old"), _jwk(NEW_KEY, "new")]  # the users service rotates
    principal = await verifier.verify(_token(NEW_KEY, "new"))
    assert principal.subject == "42"
    assert server.fetches == 2
    await verifier.verify(_token(NEW_KEY, "new"))
    await verifier.verify(_token())  # tokens signed before the rotation stay valid
    assert server.fetches == 2


async def test_a_key_rotated_within_the_min_interval_is_picked_up_when_it_has_passed(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    server, url = jwks
    verifier = JwksVerifier(_settings(url, jwks_min_refresh_interval_seconds=0.5), http)
    await verifier.verify(_token())
    server.keys = [_jwk(OLD_KEY, "old"), _jwk(NEW_KEY, "new")]
    with pytest.raises(UnauthorizedError, match="unknown key"):
        await verifier.verify(_token(NEW_KEY, "new"))  # too soon after the last fetch
    deadline = time.monotonic() + 5
    while not await _accepted(verifier, _token(NEW_KEY, "new")):
        assert time.monotonic() < deadline, "the new key was never fetched"
        await asyncio.sleep(0.05)
    assert server.fetches == 2  # the refusals while waiting cost no fetch


async def test_concurrent_unknown_kids_share_one_jwks_fetch(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    server, url = jwks
    # No rate limit here: only the single flight stands between 50 requests and 50 fetches.
    verifier = JwksVerifier(_settings(url, jwks_min_refresh_interval_seconds=0), http)
    await verifier.verify(_token())
    server.delay_seconds = 0.2
    forged = [_token(kid=f"forged-{n}") for n in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in forged), return_exceptions=True)
    assert all(isinstance(result, UnauthorizedError) for result in results)
    assert server.fetches == 2


async def test_unknown_kids_within_the_min_interval_cause_no_fetch(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient
) -> None:
    server, url = jwks
    server.delay_seconds = 0.2
    verifier = JwksVerifier(_settings(url, jwks_min_refresh_interval_seconds=60), http)
    first = [_token(kid=f"forged-{n}") for n in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in first), return_exceptions=True)
    assert all(isinstance(result, UnauthorizedError) for result in results)
    assert server.fetches == 1  # the cold start's fetch, shared by all 50
    more = [_token(kid=f"again-{n}") for n in range(50)]
    results = await asyncio.gather(*(verifier.verify(t) for t in more), return_exceptions=True)
    for n in range(20):
        with pytest.raises(UnauthorizedError):
            await verifier.verify(_token(kid=f"one-by-one-{n}"))
    assert all(isinstance(result, UnauthorizedError) for result in results)
    assert server.fetches == 1
    assert (await verifier.verify(_token())).subject == "42"  # real tokens still pass


async def test_an_unreachable_jwks_refuses_tokens_and_warns(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/jwks.json"
    verifier = JwksVerifier(_settings(url), http)
    with (
        caplog.at_level(logging.WARNING, logger="cloudmart_common.jwks"),
        pytest.raises(UnauthorizedError, match="keys unavailable"),
    ):
        await verifier.verify(_token())
    assert "JWKS fetch" in caplog.text
    assert "no keys cached" in caplog.text


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(Response("down for maintenance", status_code=503), id="503"),
        pytest.param(Response("<html>not json</html>", media_type="text/html"), id="not-json"),
        pytest.param(JSONResponse(["not", "an", "object"]), id="json-list"),
        pytest.param(JSONResponse({"keys": []}), id="no-keys"),
        pytest.param(
            JSONResponse({"keys": [{"kty": "oct", "kid": "old", "k": "c2VjcmV0"}]}),
            id="hmac-key-only",
        ),
    ],
)
async def test_a_broken_jwks_refuses_tokens_without_a_server_error(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient, broken: Response
) -> None:
    server, url = jwks
    server.broken = broken
    with pytest.raises(UnauthorizedError, match="keys unavailable"):
        await JwksVerifier(_settings(url), http).verify(_token())


async def test_cached_keys_keep_serving_while_the_jwks_is_down(
    jwks: tuple[JwksServer, str], http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    server, url = jwks
    settings = _settings(url, jwks_cache_seconds=0.05, jwks_min_refresh_interval_seconds=0)
    verifier = JwksVerifier(settings, http)
    await verifier.verify(_token())
    server.broken = Response("down", status_code=503)
    deadline = time.monotonic() + 5
    with caplog.at_level(logging.WARNING, logger="cloudmart_common.jwks"):
        while server.fetches < 2:  # until the cache has expired and a refresh was tried
            assert (await verifier.verify(_token())).subject == "42"
            assert time.monotonic() < deadline, "the expired cache was never refreshed"
            await asyncio.sleep(0.02)
        assert (await verifier.verify(_token())).subject == "42"
    assert "keeping 1 cached key(s)" in caplog.text
