"""Rate limits in Redis: per IP, per user, strict on login and resets.

A sliding-window counter (the previous window's count, weighted by how much of it still
overlaps, plus the current one's), kept in one hash per client and limit and updated by one
Lua script, so every gateway replica shares the counts.

Login and password resets are decided by Redis on every request: they are few, and their
limits are small. The per-IP and per-user limits (hundreds a minute) are counted locally and
sent to Redis in one pipeline every SYNC_SECONDS, so a request costs no round trip (ADR 0017:
the round trip was a fifth of a proxied GET's CPU). A client's count is asked of Redis, for
that request, when the gateway has not seen it yet, when its local copy is older than
SYNC_SECONDS * 10, and when fewer than `margin` requests remain: so a single replica enforces
the limit exactly, and N replicas can let through at most what the others served in their
last SYNC_SECONDS beyond it.

Fails open: when Redis is unreachable requests pass (and a warning is logged), because
refusing every request over a cache outage would turn it into a full outage.
"""

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from prometheus_client import Counter
from redis.asyncio import Redis

from cloudmart_common.errors import TooManyRequestsError
from cloudmart_common.periodic import running_periodic
from cloudmart_gateway.routes import LOGIN_PATH, PASSWORD_RESET_PATHS
from cloudmart_gateway.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused with 429", ["limit"])
KEY_PREFIX = "ratelimit"
SYNC_SECONDS = 0.1
# How stale a local count may be before the next request asks Redis again.
STALE_SECONDS = SYNC_SECONDS * 10

# KEYS[1]: the client's counter. ARGV: limit, window (ms), now (ms since the epoch), hits
# already served (added unconditionally), ask (1: decide one more request, 0: just record).
# Returns {allowed (0/1), remaining, window end (ms)}.
SLIDING_WINDOW = """
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local served, ask = tonumber(ARGV[4]), tonumber(ARGV[5])
local start = now - (now % window)
local saved = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s, c, p = tonumber(saved[1]), tonumber(saved[2]) or 0, tonumber(saved[3]) or 0
if s ~= start then
  if s == start - window then p = c else p = 0 end
  c = 0
end
c = c + served
-- Rounded up: just after a window ends, a client that spent its limit has spent it still
-- (rounding down let one more request through at every boundary: an 11th login guess).
local used = math.ceil(p * (window - (now - start)) / window) + c
local allowed = 0
if ask == 1 and used < limit then
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
        return dict(zip(_FIELD_NAMES, self._values(), strict=True))

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """`headers` as an ASGI header list (the proxy adds them to every answer)."""
        return [
            (name, value.encode())
            for name, value in zip(_RAW_FIELD_NAMES, self._values(), strict=True)
        ]

    def _values(self) -> tuple[str, str, str]:
        reset_in = max(0, round(self.reset_at - time.time()))
        return str(self.limit.amount), str(max(self.remaining, 0)), str(reset_in)


_FIELD_NAMES = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_RAW_FIELD_NAMES = tuple(name.lower().encode() for name in _FIELD_NAMES)


class RateLimited(TooManyRequestsError):
    title, slug = "Too many requests", "rate-limited"

    def __init__(self, detail: str, verdict: Verdict) -> None:
        super().__init__(detail)
        self.verdict = verdict


@dataclass
class _Local:
    """This replica's view of one client's count under one limit."""

    limit: RateLimitItem
    remaining: int  # as Redis last said, less what was served here since
    reset_ms: int
    synced_at: float  # monotonic
    unsent: int = field(default=0)  # served here, not yet added in Redis
    others: int = field(default=0)  # served by the other replicas in the last sync interval


def _arguments(limit: RateLimitItem, served: int, *, ask: bool) -> list[int]:
    return [limit.amount, limit.get_expiry() * 1000, int(time.time() * 1000), served, int(ask)]


class RateLimits:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(SLIDING_WINDOW)
        self._anonymous = parse(settings.rate_limit_anonymous)
        self._user = parse(settings.rate_limit_user)
        self._login = parse(settings.rate_limit_login)
        self._reset = parse(settings.rate_limit_password_reset)
        self._local: dict[str, _Local] = {}

    async def check(
        self, *, path: str, client_ip: str, user: str | None, login_name: str | None
    ) -> Verdict | None:
        """The verdict of the limit that applies (None when Redis is down); RateLimited if spent."""
        counted_here = False
        if path == LOGIN_PATH:
            name, limit, key = "login", self._login, f"{client_ip}/{(login_name or '').lower()}"
        elif path in PASSWORD_RESET_PATHS:
            name, limit, key = "password_reset", self._reset, client_ip
        elif user is not None:
            name, limit, key, counted_here = "user", self._user, user, True
        else:
            name, limit, key, counted_here = "anonymous", self._anonymous, client_ip, True
        redis_key = f"{KEY_PREFIX}:{name}:{limit.amount}/{limit.get_expiry()}:{key}"
        local = self._local.get(redis_key) if counted_here else None
        if local is not None and self._decidable_here(local):
            local.remaining -= 1
            local.unsent += 1
            return Verdict(limit, local.remaining, local.reset_ms / 1000)
        unsent = 0
        if local is not None:  # sent with this request, so never by a sync running meanwhile
            unsent, local.unsent = local.unsent, 0
        try:
            allowed, remaining, reset_ms = await self._ask(redis_key, limit, unsent)
        except Exception as exc:  # any storage failure: fail open
            if local is not None:
                local.unsent += unsent
            log.warning("rate limiting skipped, storage failed: %s", type(exc).__name__)
            return None
        if counted_here:
            self._local[redis_key] = _Local(limit, remaining, reset_ms, time.monotonic())
        verdict = Verdict(limit, remaining, reset_ms / 1000)
        if not allowed:
            RATE_LIMITED.labels(name).inc()
            raise RateLimited(f"too many requests; limit {limit}", verdict)
        return verdict

    @staticmethod
    def _decidable_here(local: _Local) -> bool:
        # Near the limit every request asks Redis: the last few are decided exactly. "Near"
        # grows with what the other replicas serve between two syncs, unseen here.
        margin = max(2, local.limit.amount // 10, 2 * local.others)
        return (
            local.remaining > margin
            and time.monotonic() - local.synced_at < STALE_SECONDS
            and time.time() * 1000 < local.reset_ms
        )

    async def _ask(self, redis_key: str, limit: RateLimitItem, served: int) -> tuple[int, int, int]:
        """Redis's decision on one more request, after adding `served`."""
        result = await self._script(keys=[redis_key], args=_arguments(limit, served, ask=True))
        allowed, remaining, reset_ms = (int(value) for value in result)
        return allowed, remaining, reset_ms

    async def sync(self) -> None:
        """Send what was counted here; take back each client's count as Redis now has it."""
        now = time.monotonic()
        # Forget clients not seen for a while: their next request asks Redis first.
        for redis_key in [k for k, v in self._local.items() if now - v.synced_at > 60]:
            del self._local[redis_key]
        pending = [(k, v) for k, v in self._local.items() if v.unsent]
        if not pending:
            return
        sent = {redis_key: local.unsent for redis_key, local in pending}
        expected = {redis_key: local.remaining for redis_key, local in pending}
        for _redis_key, local in pending:
            local.unsent = 0  # requests counted from here on go in the next round
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for redis_key, local in pending:
                    await self._script(
                        keys=[redis_key],
                        args=_arguments(local.limit, sent[redis_key], ask=False),
                        client=pipe,
                    )
                results = await pipe.execute()
        except Exception as exc:
            for redis_key, local in pending:
                local.unsent += sent[redis_key]  # kept for the next round
            log.warning("rate limit counts not synced: %s", type(exc).__name__)
            return
        synced_at = time.monotonic()
        for (redis_key, local), (_allowed, remaining, reset_ms) in zip(
            pending, results, strict=True
        ):
            if int(reset_ms) == local.reset_ms:  # same window: the gap is the others' doing
                local.others = max(0, expected[redis_key] - int(remaining))
            local.remaining = int(remaining) - local.unsent
            local.reset_ms = int(reset_ms)
            local.synced_at = synced_at

    @asynccontextmanager
    async def syncing(self) -> AsyncIterator[None]:
        """Sync every SYNC_SECONDS while the block lasts (the gateway's lifespan)."""

        async def sync_round() -> int:
            await self.sync()
            return 0  # nothing to report each round: the sync logs its own failures

        try:
            async with running_periodic("rate-limit-sync", SYNC_SECONDS, sync_round):
                yield
        finally:
            await self.sync()  # what was served here still counts for the other replicas
