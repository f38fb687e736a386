"""Ended sessions: the users service marks a session's id revoked in Redis when the session ends
(logout, password change or reset, account deletion, a refresh token used twice), and every
verifier refuses access tokens carrying that `sid` from then on.

A mark lives as long as the longest access token of the session could (its lifetime plus the
verifiers' clock leeway), then expires with nothing left to refuse. A verifier asks Redis about
a session at most once a second and answers from memory in between, so a revocation takes
effect within a second everywhere, and the hot path does not pay a round trip per request.
"""

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "revoked-session:"
CHECK_SECONDS = 1.0  # how stale a verifier's answer about a session may be
REVOCATION_TIMEOUT_SECONDS = (
    0.2  # a check's Redis connect and read; then the session counts as live
)
REMEMBERED_SESSIONS = 10_000  # answers kept in memory (oldest dropped first)
_WARN_EVERY_SECONDS = 60.0


def revoked_key(session_id: str) -> str:
    return f"{PREFIX}{session_id}"


class RevokedSessions:
    """Whether a session id was revoked, as Redis said within the last second.

    Without Redis a session counts as live (the token's signature and expiry still hold) and a
    warning says so once a minute: refusing every caller while Redis restarts would take the
    shop down for what is an extra check.
    """

    def __init__(self, redis: "Redis") -> None:
        self._redis = redis
        self._answers: dict[str, tuple[bool, float]] = {}  # sid -> (revoked, asked at)
        self._warned_at = float("-inf")

    async def is_revoked(self, session_id: str) -> bool:
        now = time.monotonic()
        known = self._answers.get(session_id)
        if known is not None and (known[0] or now - known[1] < CHECK_SECONDS):
            return known[0]  # a revocation is final: never asked again
        try:
            revoked = bool(await self._redis.exists(revoked_key(session_id)))
        except RedisError as exc:
            if now - self._warned_at >= _WARN_EVERY_SECONDS:
                self._warned_at = now
                log.warning("session revocations unreadable (%s); tokens accepted meanwhile", exc)
            revoked = False  # asked again in a second, not on every request meanwhile
        if known is None and len(self._answers) >= REMEMBERED_SESSIONS:
            del self._answers[next(iter(self._answers))]
        self._answers[session_id] = (revoked, now)
        return revoked
