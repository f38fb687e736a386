"""Issuing access and service tokens (RS256), verified everywhere else from the JWKS."""

import time
import uuid
from typing import Any

import jwt

from cloudmart_common import scopes
from cloudmart_users.keys import KeyRing
from cloudmart_users.settings import Settings


class TokenIssuer:
    def __init__(self, keys: KeyRing, settings: Settings) -> None:
        self._keys = keys
        self._settings = settings

    def _sign(self, subject: str, role: str, lifetime: int, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "role": role,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + lifetime,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            **extra,
        }
        key = self._keys.signing
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def access_token(self, user_id: int, role: str, session_id: str) -> str:
        return self._sign(str(user_id), role, self._settings.access_token_seconds, sid=session_id)

    def service_token(self, service: str) -> str:
        return self._sign(
            f"service:{service}",
            "service",
            self._settings.service_token_seconds,
            scope=" ".join(sorted(scopes.granted(service))),
        )
