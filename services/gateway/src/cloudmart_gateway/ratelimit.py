"""Rate limits in Redis: per IP, per user, strict on login and resets; one round trip a check.

A sliding-window counter (the previous window's count, weighted by how much of it still
overlaps, plus the current one's) kept in one hash per client and limit, read, decided and
updated by one Lua script: the `limits` library took two round trips and three commands per
request (ADR 0017). Every gateway instance shares the counts, so a limit holds across replicas.

Fails open: when Redis is unreachable requests pass (and a warning is logged), because
refusing every request over a cache outage would turn it into a full outage.
"""

import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from prometheus_client import Counter
from redis.asyncio import Redis

from cloudmart_common.errors import TooManyRequestsError
from cloudmart_gateway.routes import LOGIN_PATH, PASSWORD_RESET_PATHS
from cloudmart_gateway.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429", ["limit"])
KEY_PREFIX = "ratelimit"

# KEYS[1]: the client's counter; ARGV: limit, window (ms), now (ms since the epoch).
# Returns {allowed (0/1), remaining, window end (ms)}.
SLIDING_WINDOW = """
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = now - (now % window)
local saved = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s, c, p = tonumber(saved[1]), tonumber(saved[2]) or 0, tonumber(saved[3]) or 0
if s ~= start then
  if s == start - window then p = c else p = 0 end
  c = 0
end
local used = math.floor(p * (window - (now - start)) / window) + c
local allowed = 0
if used < limit then
  c = c + 1
  used = used + 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 's', start, 'c', c, 'p', p)
redis.call('PEXPIRE', KEYS[1], window * 2)
return {allowed, limit - used, start + window}
"""


@dataclass(frozen=True)
class Verdict:
    limit: RateLimitItem
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields (draft)."""
        reset_in = max(0, round(self.reset_at - time.time()))
        return {
            "RateLimit-Limit": str(self.limit.amount),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(reset_in),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [(name.lower().encode(), value.encode()) for name, value in self.headers().items()]


class RateLimited(TooManyRequestsError):
    title, slug = "Too many requests", "rate-limited"

    def __init__(self, detail: str, verdict: Verdict) -> None:
        super().__init__(detail)
        self.verdict = verdict


class RateLimits:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._script = redis.register_script(SLIDING_WINDOW)
        self._anonymous = parse(settings.rate_limit_anonymous)
        self._user = parse(settings.rate_limit_user)
        self._login = parse(settings.rate_limit_login)
        self._reset = parse(settings.rate_limit_password_reset)

    async def check(
        self, *, path: str, client_ip: str, user: str | None, login_name: str | None
    ) -> Verdict | None:
        """The verdict of the limit that applies (None when Redis is down); RateLimited if spent."""
        if path == LOGIN_PATH:
            name, limit, key = "login", self._login, f"{client_ip}/{(login_name or '').lower()}"
        elif path in PASSWORD_RESET_PATHS:
            name, limit, key = "password_reset", self._reset, client_ip
        elif user is not None:
            name, limit, key = "user", self._user, user
        else:
            name, limit, key = "anonymous", self._anonymous, client_ip
        window_ms = limit.get_expiry() * 1000
        try:
            allowed, remaining, reset_ms = await self._script(
                keys=[f"{KEY_PREFIX}:{name}:{limit.amount}/{window_ms}:{key}"],
                args=[limit.amount, window_ms, int(time.time() * 1000)],
            )
        except Exception as exc:  # any storage failure: fail open
            log.warning("rate limiting skipped, storage failed: %s", type(exc).__name__)
            return None
        verdict = Verdict(limit, int(remaining), int(reset_ms) / 1000)
        if not allowed:
            RATE_LIMITED.labels(name).inc()
            raise RateLimited(f"too many requests; limit {limit}", verdict)
        return verdict
