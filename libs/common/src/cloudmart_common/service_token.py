"""Service credentials: a short-lived service token by OAuth 2.0 client credentials, cached."""

import asyncio
import time
from typing import Protocol

import httpx

from cloudmart_common.errors import ServiceUnavailableError
from cloudmart_common.settings import CommonSettings

MIN_MARGIN_SECONDS = 30.0


class TokenSource(Protocol):
    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


class ServiceTokenProvider:
    """Fetches this service's token from the users service; renews it before it expires.

    Concurrent callers share one fetch. `invalidate()` after a 401 forces the next fetch.
    """

    def __init__(self, settings: CommonSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._token = None

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token is not None and time.monotonic() < self._renew_at:
                return self._token
            self._token, lifetime = await self._fetch()
            # Renew at 90 % of the lifetime, and at least 30 s before expiry when possible.
            margin = min(max(lifetime * 0.1, MIN_MARGIN_SECONDS), lifetime * 0.5)
            self._renew_at = time.monotonic() + lifetime - margin
            return self._token

    async def _fetch(self) -> tuple[str, float]:
        settings = self._settings
        try:
            response = await self._http.post(
                settings.service_token_url,
                data={"grant_type": "client_credentials"},
                auth=(
                    settings.service_client_id,
                    settings.service_client_secret.get_secret_value(),
                ),
                timeout=settings.service_call_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(f"token endpoint unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ServiceUnavailableError(
                f"token endpoint refused the service credentials ({response.status_code})"
            )
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in", 300))
