"""Refresh-token sessions in Redis: rotation on every use, reuse of an old token revokes all."""

import hashlib
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from cloudmart_common.revocations import revoked_key

# Atomic check-and-rotate: two refreshes racing with one token cannot both win.
_ROTATE = """
local current = redis.call('HGET', KEYS[1], 'refresh_hash')
if not current then return 'missing' end
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'refresh_hash', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return 'rotated'
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[4])
  return 'reused'
end
return 'invalid'
"""


# Logout: the session ends only for the holder of its current refresh token (the session id
# alone is readable in every access token of the session).
_CLOSE = """
if redis.call('HGET', KEYS[1], 'refresh_hash') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: int
    refresh_token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(refresh_token: str) -> tuple[str, str] | None:
    session_id, _, secret = refresh_token.partition(".")
    return (session_id, secret) if session_id and secret else None


class SessionStore:
    """Sessions by id; an ended session's id is marked revoked for `revoked_seconds` (as long as
    an access token it issued can live), so verifiers refuse those tokens at once."""

    def __init__(self, redis: "Redis", ttl_seconds: int, revoked_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._revoked_seconds = revoked_seconds
        self._rotate = redis.register_script(_ROTATE)
        self._close = redis.register_script(_CLOSE)

    async def open(self, user_id: int) -> Session:
        session_id, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        key = f"session:{session_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user_id": user_id, "refresh_hash": _digest(secret)})
            pipe.expire(key, self._ttl)
            pipe.sadd(f"user-sessions:{user_id}", session_id)
            pipe.expire(f"user-sessions:{user_id}", self._ttl)
            await pipe.execute()
        return Session(session_id, user_id, f"{session_id}.{secret}")

    async def rotate(self, refresh_token: str) -> tuple[str, Session | None]:
        """('rotated', new session) | ('reused' | 'invalid' | 'missing', None)."""
        parts = _split(refresh_token)
        if parts is None:
            return "invalid", None
        session_id, secret = parts
        user_id = await self._redis.hget(f"session:{session_id}", "user_id")
        new_secret = secrets.token_urlsafe(32)
        raw = await self._rotate(
            keys=[f"session:{session_id}", f"session:{session_id}:used", revoked_key(session_id)],
            args=[_digest(secret), _digest(new_secret), self._ttl, self._revoked_seconds],
        )
        outcome = raw.decode() if isinstance(raw, bytes) else str(raw)
        if outcome != "rotated" or user_id is None:
            return outcome, None
        return outcome, Session(session_id, int(user_id), f"{session_id}.{new_secret}")

    async def close(self, refresh_token: str) -> None:
        """Logout: the session ends, its access tokens with it; a refresh token that is not the
        session's current one ends nothing."""
        parts = _split(refresh_token)
        if parts is not None:
            session_id, secret = parts
            await self._close(
                keys=[
                    f"session:{session_id}",
                    f"session:{session_id}:used",
                    revoked_key(session_id),
                ],
                args=[_digest(secret), self._revoked_seconds],
            )

    async def close_all(self, user_id: int) -> None:
        """After a password change or reset, or a deletion: every session of the user ends."""
        index = f"user-sessions:{user_id}"
        members = await self._redis.smembers(index)
        await self._end([m.decode() if isinstance(m, bytes) else m for m in members], index)

    async def _end(self, session_ids: list[str], *also: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for sid in session_ids:
                pipe.set(revoked_key(sid), "1", ex=self._revoked_seconds)
            keys = [k for sid in session_ids for k in (f"session:{sid}", f"session:{sid}:used")]
            if keys or also:
                pipe.delete(*also, *keys)
            await pipe.execute()
