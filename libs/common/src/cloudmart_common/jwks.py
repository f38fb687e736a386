"""Access-token verification from the users service's JWKS: cached, refreshed on unknown keys."""

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import InvalidTokenError, PyJWKError, PyJWKSetError

from cloudmart_common.errors import UnauthorizedError
from cloudmart_common.principal import Principal
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]  # never "none", never HS*: a public key must not become an HMAC secret
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "role"]
ROLES = ("customer", "admin", "service")
LEEWAY_SECONDS = 30


class JwksVerifier:
    """Verifies RS256 tokens locally; the JWKS is fetched once per cache period.

    A token with an unknown `kid` (key rotation) refreshes the set, but concurrent requests
    share one fetch and refreshes happen at most once per `jwks_min_refresh_interval_seconds`,
    so a flood of forged kids cannot turn into a flood of fetches.
    """

    def __init__(self, settings: CommonSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError as exc:
            raise UnauthorizedError("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise UnauthorizedError("token algorithm not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=ALGORITHMS,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthorizedError("token expired") from exc
        except InvalidTokenError as exc:
            raise UnauthorizedError(f"invalid token: {type(exc).__name__}") from exc
        if claims["role"] not in ROLES:
            raise UnauthorizedError("invalid token: unknown role")
        return Principal(
            subject=str(claims["sub"]),
            role=claims["role"],
            token_id=str(claims["jti"]),
            claims=claims,
        )

    async def _key(self, kid: str) -> PyJWK:
        if self._expired():
            await self._refresh(force=True)
        if kid not in self._keys:
            await self._refresh(force=False)
        if kid not in self._keys:
            raise UnauthorizedError("token signed by an unknown key")
        return self._keys[kid]

    def _expired(self) -> bool:
        return time.monotonic() - self._fetched_at > self._settings.jwks_cache_seconds

    async def _refresh(self, *, force: bool) -> None:
        started_waiting = time.monotonic()
        async with self._lock:
            if self._fetched_at >= started_waiting:
                return  # another request refreshed while we waited: use its result
            since_last = time.monotonic() - self._fetched_at
            if not force and since_last < self._settings.jwks_min_refresh_interval_seconds:
                return
            try:
                response = await self._http.get(
                    self._settings.jwks_url, timeout=self._settings.health_check_timeout_seconds
                )
                response.raise_for_status()
                key_set = PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, PyJWKError, PyJWKSetError) as exc:
                log.warning("JWKS refresh from %s failed: %s", self._settings.jwks_url, exc)
                if not self._keys:
                    raise UnauthorizedError("token keys unavailable") from exc
                return  # keep serving with the keys we have
            finally:
                self._fetched_at = time.monotonic()
            self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
