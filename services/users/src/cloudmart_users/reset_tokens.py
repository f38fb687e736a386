"""Single-use, expiring password-reset tokens, kept in Redis by their hash only."""

import hashlib
import secrets

from redis.asyncio import Redis


def reset_key(token: str) -> str:
    return f"password-reset:{hashlib.sha256(token.encode()).hexdigest()}"


class ResetTokens:
    def __init__(self, redis: "Redis", ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def issue(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        await self._redis.set(reset_key(token), user_id, ex=self._ttl)
        return token

    async def redeem(self, token: str) -> int | None:
        """The user id, once: GETDEL makes a second use (or a race of two) find nothing."""
        user_id = await self._redis.getdel(reset_key(token))
        return int(user_id) if user_id is not None else None
