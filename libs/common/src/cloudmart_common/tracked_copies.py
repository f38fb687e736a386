"""In-process copies of Redis values, dropped the moment Redis says their key changed.

Redis's server-assisted client-side caching (`CLIENT TRACKING ... BCAST PREFIX`): one
connection per process subscribes to `__redis__:invalidate` and has Redis send it the name of
every key under the tracked prefixes that is written, deleted, expired or evicted, and a
flush. A hot read is then a dictionary lookup instead of a round trip (ADR 0017: a third of
a cached product read was the Redis GET).

Exactness, not a shorter window:
- A copy is stored only if no invalidation of its key arrived while the GET was in flight
  (`begin` before the GET, `offer` after it): an answer that left Redis before a write whose
  invalidation this process has already seen is never kept.
- A write made by this process drops the copies itself (`drop`) once Redis acknowledged it,
  so this process's next read goes to Redis, whatever the order in which the reply and the
  invalidation reach it. A write by another process is seen when its invalidation arrives:
  one loopback or in-VPC hop after the write, the same hop a read would have taken.
- Without the invalidation connection (not yet up, lost, Redis restarted, no heartbeat
  answer within `HEARTBEAT_SECONDS`) there are no copies: every read goes to Redis, and
  copies start again from empty once the connection is back.
"""

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

INVALIDATION_CHANNEL = b"__redis__:invalidate"
HEARTBEAT_SECONDS = 1.0  # a PING after this long without a message; no answer by the next: lost
RECONNECT_SECONDS = 1.0
MAX_COPIES = 20_000  # a product's JSON is ~250 bytes: ~5 MB at most
# A copy is also forgotten after this long, whatever Redis says: it bounds what a key's
# expiry, which Redis may report late, could leave behind.
MAX_AGE_SECONDS = 30.0


class _Pending:
    """One GET in flight: its copy is kept only if this token is still the key's."""

    __slots__ = ()


class TrackedCopies:
    def __init__(self, redis_url: str, prefixes: Sequence[str], *, max_copies: int = MAX_COPIES):
        self._url = redis_url
        self._prefixes = tuple(prefixes)
        self._max_copies = max_copies
        self._copies: dict[bytes, tuple[bytes, float]] = {}
        self._pending: dict[bytes, _Pending] = {}
        self._live = False
        self.client_id: int | None = None  # the tracking connection's, while it is up

    @property
    def live(self) -> bool:
        return self._live

    def get(self, key: str) -> bytes | None:
        if not self._live:
            return None
        name = key.encode()
        copy = self._copies.get(name)
        if copy is None:
            return None
        value, kept_until = copy
        if time.monotonic() > kept_until:
            del self._copies[name]
            return None
        return value

    def begin(self, key: str) -> _Pending | None:
        """Before a GET of `key` whose answer should be kept (under a tracked prefix only:
        Redis reports no other key's changes)."""
        if not self._live or not key.startswith(self._prefixes):
            return None
        token = _Pending()
        self._pending[key.encode()] = token
        return token

    def offer(self, key: str, token: _Pending | None, value: bytes | None) -> None:
        """After the GET: kept unless the key was invalidated (or the tracking lost) since."""
        name = key.encode()
        if token is None or self._pending.get(name) is not token:
            return
        del self._pending[name]
        if value is None or not self._live:
            return
        if len(self._copies) >= self._max_copies:
            del self._copies[next(iter(self._copies))]  # the oldest stored
        self._copies[name] = (value, time.monotonic() + MAX_AGE_SECONDS)

    def drop(self, keys: Iterable[str]) -> None:
        """After this process changed `keys` in Redis (and Redis acknowledged it)."""
        for key in keys:
            self._forget(key.encode())

    def _forget(self, name: bytes) -> None:
        self._copies.pop(name, None)
        self._pending.pop(name, None)

    def _forget_all(self) -> None:
        self._copies.clear()
        self._pending.clear()

    async def run(self) -> None:
        """Keeps the invalidation connection up; cancel to stop."""
        while True:
            try:
                await self._track()
            except (RedisError, OSError) as exc:
                log.warning("local copies off until Redis tracking is back: %s", exc)
            finally:
                self._live = False
                self.client_id = None
                self._forget_all()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _track(self) -> None:
        # A connection of its own, outside any pool: it is in subscribed mode for its life.
        pool = ConnectionPool.from_url(self._url, protocol=2)
        connection = pool.connection_class(**pool.connection_kwargs)
        try:
            await connection.send_command("CLIENT", "ID")  # connects
            own_id = await connection.read_response()
            self.client_id = int(own_id)
            # The connection receives its own invalidations: RESP2 carries them on a channel.
            prefixes = [part for prefix in self._prefixes for part in ("PREFIX", prefix)]
            await connection.send_command(
                "CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes
            )
            await connection.read_response()
            await connection.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
            await connection.read_response()
            self._forget_all()  # whatever changed while nothing was listening
            self._live = True
            await self._listen(connection)
        finally:
            await connection.disconnect(nowait=True)

    async def _listen(self, connection: AbstractConnection) -> None:
        awaiting_pong = False
        while True:
            message = await connection.read_response(timeout=HEARTBEAT_SECONDS)
            if message is None:
                if awaiting_pong:
                    raise RedisError("no answer to the tracking connection's heartbeat")
                await connection.send_command("PING")
                awaiting_pong = True
                continue
            awaiting_pong = False
            if isinstance(message, list) and message[0] == b"message":
                keys = message[2]
                if keys is None:  # FLUSHDB / FLUSHALL
                    self._forget_all()
                else:
                    for name in keys:
                        self._forget(name)
