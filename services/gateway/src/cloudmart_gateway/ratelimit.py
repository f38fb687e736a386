"""Rate limits in Redis (the `limits` library): per IP, per user, strict on login and resets.

Fails open: when Redis is unreachable requests pass (and a warning is logged), because
refusing every request over a cache outage would turn it into a full outage.
"""

import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import Counter

from cloudmart_common.errors import TooManyRequestsError
from cloudmart_gateway.routes import LOGIN_PATH, PASSWORD_RESET_PATHS
from cloudmart_gateway.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429", ["limit"])


@dataclass(frozen=True)
class Verdict:
    limit: RateLimitItem
    remaining: int
    reset_at: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        """The IETF RateLimit header fields (draft), plus the classic X- names."""
        reset_in = max(0, round(self.reset_at - time.time()))
        return {
            "RateLimit-Limit": str(self.limit.amount),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(reset_in),
        }


class RateLimited(TooManyRequestsError):
    title, slug = "Too many requests", "rate-limited"

    def __init__(self, detail: str, verdict: Verdict) -> None:
        super().__init__(detail)
        self.verdict = verdict


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._storage = RedisStorage(
            "async+" + settings.redis_url, implementation="redispy", key_prefix="ratelimit"
        )
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        self._anonymous = parse(settings.rate_limit_anonymous)
        self._user = parse(settings.rate_limit_user)
        self._login = parse(settings.rate_limit_login)
        self._reset = parse(settings.rate_limit_password_reset)

    async def check(
        self, *, path: str, client_ip: str, user: str | None, login_name: str | None
    ) -> Verdict | None:
        """The verdict of the limit that applies (None when Redis is down); RateLimited if spent."""
        key: tuple[str, ...]
        if path == LOGIN_PATH:
            name, limit, key = "login", self._login, (client_ip, (login_name or "").lower())
        elif path in PASSWORD_RESET_PATHS:
            name, limit, key = "password_reset", self._reset, (client_ip,)
        elif user is not None:
            name, limit, key = "user", self._user, (user,)
        else:
            name, limit, key = "anonymous", self._anonymous, (client_ip,)
        try:
            allowed = await self._limiter.hit(limit, name, *key)
            stats = await self._limiter.get_window_stats(limit, name, *key)
        except Exception as exc:  # any storage failure: fail open
            log.warning("rate limiting skipped, storage failed: %s", type(exc).__name__)
            return None
        verdict = Verdict(limit, stats.remaining, stats.reset_time)
        if not allowed:
            RATE_LIMITED.labels(name).inc()
            raise RateLimited(f"too many requests; limit {limit}", verdict)
        return verdict
