"""Service credentials: this service's short-lived token by OAuth 2.0 client credentials, cached."""

import asyncio
import logging
import time
from typing import Protocol
from urllib.parse import quote_plus

import httpx
from pydantic import BaseModel, Field, ValidationError

from cloudmart_common.errors import ServiceUnavailableError
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

MIN_MARGIN_SECONDS = 30.0  # renew at least this long before expiry: clock skew, slow calls
MARGIN_SHARE = 0.1  # ... or this share of the lifetime, whichever is longer


class TokenSource(Protocol):
    """What the service HTTP client needs: a bearer token, and a way to drop it after a 401."""

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


class ServiceTokenProvider:
    """Fetches this service's token from the users service and renews it before it expires.

    Concurrent callers share one fetch, and a failed fetch fails everyone who waited for it
    (rather than queueing one more attempt each). `invalidate()` after a 401 from a callee
    makes the next `token()` fetch a new one.
    """

    def __init__(self, settings: CommonSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._token: str | None = None
        self._renew_at = float("-inf")
        self._failed: tuple[float, str] | None = None  # when the last fetch failed, and why
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._token = None

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        asked_at = time.monotonic()
        async with self._lock:
            if self._token is not None and time.monotonic() < self._renew_at:
                return self._token  # another caller fetched it while we waited
            if self._failed is not None and self._failed[0] >= asked_at:
                raise ServiceUnavailableError(self._failed[1])
            # The lifetime counts from when the users service issued the token: start the
            # clock before the request, not after the answer.
            requested_at = time.monotonic()
            try:
                token, lifetime = await self._fetch()
            except ServiceUnavailableError as exc:
                self._failed = (time.monotonic(), exc.detail)
                log.warning("service token fetch failed: %s", exc.detail)
                raise
            self._token = token
            self._renew_at = requested_at + lifetime - _margin(lifetime)
            return token

    async def _fetch(self) -> tuple[str, float]:
        settings = self._settings
        if not settings.service_client_id:
            raise ServiceUnavailableError("service credentials not configured (SERVICE_CLIENT_ID)")
        # RFC 6749 §2.3.1: id and secret are form-encoded before they go into Basic auth.
        credentials = httpx.BasicAuth(
            quote_plus(settings.service_client_id),
            quote_plus(settings.service_client_secret.get_secret_value()),
        )
        try:
            response = await self._http.post(
                settings.service_token_url,
                data={"grant_type": "client_credentials"},
                auth=credentials,
                headers={"Accept": "application/json"},
                timeout=settings.service_call_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(
                f"token endpoint unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code in (400, 401):
            raise ServiceUnavailableError(
                "token endpoint refused the service credentials "
                f"({response.status_code} {_oauth_error(response)})"
            )
        if response.status_code != 200:
            raise ServiceUnavailableError(f"token endpoint answered {response.status_code}")
        try:
            answer = _TokenAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            raise ServiceUnavailableError(
                "token endpoint answer lacks a bearer access_token with a positive expires_in"
            ) from exc
        return answer.access_token, answer.expires_in


class _TokenAnswer(BaseModel):
    """The fields of an RFC 6749 §5.1 answer this client relies on."""

    access_token: str = Field(min_length=1)
    token_type: str = Field(pattern="(?i)^bearer$")
    expires_in: float = Field(gt=0)


def _oauth_error(response: httpx.Response) -> str:
    """The RFC 6749 §5.2 error code (`invalid_client`, ...): safe to show, useful to operators."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return "no error code"
    return error if isinstance(error, str) else "no error code"


def _margin(lifetime: float) -> float:
    # 30 s or 10 %, whichever is longer, but never more than half of a (short) lifetime.
    return min(max(MIN_MARGIN_SECONDS, lifetime * MARGIN_SHARE), lifetime / 2)
