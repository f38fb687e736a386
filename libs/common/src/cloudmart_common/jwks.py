"""Access-token verification from the users service's JWKS: cached, refreshed on unknown keys."""

import asyncio
import logging
import time
from types import MappingProxyType
from typing import Any, get_args

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWKSet
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
    PyJWTError,
)

from cloudmart_common.context import user_id_var
from cloudmart_common.errors import UnauthorizedError
from cloudmart_common.principal import Principal, Role
from cloudmart_common.revocations import RevokedSessions
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

# The only algorithm accepted. Never "none", never HS*: the verification key is public, so it
# must never be usable as an HMAC secret (the algorithm-confusion attack).
ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "jti", "role")
LEEWAY_SECONDS = 30  # clock skew tolerated between the users service and this one
VERIFIED_CACHE_SIZE = 10_000  # tokens remembered as verified (a few MiB at most)
_ROLES: tuple[str, ...] = get_args(Role)

# Safe details only: what is wrong, never what the token said.
_REJECTIONS: tuple[tuple[type[InvalidTokenError], str], ...] = (
    (ExpiredSignatureError, "token expired"),
    (ImmatureSignatureError, "token not yet valid"),
    (InvalidAudienceError, "token audience not accepted"),
    (InvalidIssuerError, "token issuer not accepted"),
    (InvalidSignatureError, "token signature invalid"),
    (InvalidAlgorithmError, "token algorithm not accepted"),
)


class JwksVerifier:
    """Verifies RS256 tokens locally against the users service's JWKS.

    The key set is cached for `jwks_cache_seconds`. A token with an unknown `kid` (key rotation)
    refreshes it, but concurrent requests share one fetch and fetches happen at most once per
    `jwks_min_refresh_interval_seconds`, so a flood of forged kids cannot become a flood of
    fetches. When the JWKS cannot be fetched the cached keys keep serving; with none cached,
    every token is refused (401), never a 500.
    """

    def __init__(
        self,
        settings: CommonSettings,
        http: httpx.AsyncClient,
        revocations: RevokedSessions | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._revocations = revocations
        self._keys: dict[str, RSAPublicKey] = {}
        self._loaded_at = float("-inf")  # last successful fetch: how old the cache is
        self._attempted_at = float("-inf")  # last fetch, failed or not: the refresh rate limit
        self._lock = asyncio.Lock()
        self._verified: dict[str, Principal] = {}  # token -> principal, oldest first

    async def verify(self, token: str) -> Principal:
        """The token's principal, or UnauthorizedError saying briefly what is wrong.

        A token verified before is not verified again until it expires: the cache is keyed
        by the whole token, signature included, so only the very bytes that passed can hit
        it. An RS256 check and PyJWT's claim handling cost more than the rest of a cached
        product read; one checkout presents the same token to four services.
        """
        known = self._verified.get(token)
        if known is not None and time.time() < known.claims["exp"] + LEEWAY_SECONDS:
            user_id_var.set(known.subject)
            principal = known
        else:
            principal = await self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = principal
        # A user's token names its session; a service token has none.
        session_id = principal.claims.get("sid")
        if (
            session_id
            and self._revocations is not None
            and await self._revocations.is_revoked(str(session_id))
        ):
            raise UnauthorizedError("session ended; log in again")
        return principal

    async def _verify(self, token: str) -> Principal:
        key = await self._key(_key_id(token))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except MissingRequiredClaimError as exc:
            raise UnauthorizedError(f"token lacks the `{exc.claim}` claim") from exc
        except InvalidTokenError as exc:
            detail = next((text for kind, text in _REJECTIONS if isinstance(exc, kind)), None)
            raise UnauthorizedError(detail or "malformed token") from exc
        if claims["role"] not in _ROLES:
            raise UnauthorizedError("token role not accepted")
        # Every log line of the rest of this request names its caller (verification is
        # the one step every authenticated route, and the gateway, goes through).
        user_id_var.set(claims["sub"])
        return Principal(
            subject=claims["sub"],  # PyJWT has checked that `sub` and `jti` are strings
            role=claims["role"],
            token_id=claims["jti"],
            claims=MappingProxyType(claims),
        )

    async def _key(self, kid: str) -> RSAPublicKey:
        stale = time.monotonic() - self._loaded_at > self._settings.jwks_cache_seconds
        if stale or kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            if not self._keys:
                raise UnauthorizedError("token keys unavailable; try again shortly")
            raise UnauthorizedError("token signed by an unknown key")
        return key

    async def _refresh(self) -> None:
        asked_at = time.monotonic()
        async with self._lock:
            if self._attempted_at >= asked_at:
                return  # single flight: the fetch we queued behind is as fresh as ours would be
            if asked_at - self._attempted_at < self._settings.jwks_min_refresh_interval_seconds:
                return  # rate limit: unknown kids are cheap to forge, fetches are not
            url = self._settings.jwks_url
            try:
                response = await self._http.get(
                    url, timeout=self._settings.service_call_timeout_seconds
                )
                response.raise_for_status()
                keys = _signing_keys(response.json())
            except (httpx.HTTPError, ValueError, PyJWTError) as exc:
                log.warning(
                    "JWKS fetch from %s failed (%s: %s); %s",
                    url,
                    type(exc).__name__,
                    exc,
                    f"keeping {len(self._keys)} cached key(s)" if self._keys else "no keys cached",
                )
                return
            finally:
                self._attempted_at = time.monotonic()
            if keys.keys() != self._keys.keys():
                self._verified.clear()  # a key withdrawn withdraws what it signed
            self._keys = keys
            self._loaded_at = self._attempted_at


def _key_id(token: str) -> str:
    """The `kid` of a token whose header names the one accepted algorithm."""
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise UnauthorizedError("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise UnauthorizedError("token algorithm not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnauthorizedError("token names no signing key")
    return kid


def _signing_keys(document: Any) -> dict[str, RSAPublicKey]:
    """The RS256 public signing keys of a JWKS document, by `kid`."""
    if not isinstance(document, dict):
        raise ValueError("JWKS is not a JSON object")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in PyJWKSet.from_dict(document).keys:
        # A key meant for another algorithm or for encryption must not verify our tokens;
        # private keys have no business in a JWKS, and would not verify either.
        usable = jwk.algorithm_name == ALGORITHM and jwk.public_key_use in (None, "sig")
        if usable and isinstance(jwk.key, RSAPublicKey) and isinstance(jwk.key_id, str):
            keys[jwk.key_id] = jwk.key
    if not keys:
        raise ValueError("JWKS holds no RS256 signing key with a kid")
    return keys
