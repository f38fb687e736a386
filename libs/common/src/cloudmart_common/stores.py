"""Clients of the data stores several services share, built from settings in a lifespan."""

import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cloudmart_common.metrics import observe_pool
from cloudmart_common.settings import CommonSettings, DatabaseSettings
from cloudmart_common.tracing import instrument_engine


def create_redis(settings: CommonSettings) -> "Redis":
    # After a Redis restart every pooled connection is dead: retrying on a fresh connection
    # makes the first command after the restart succeed instead of failing the request.
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.health_check_timeout_seconds,
        socket_timeout=settings.health_check_timeout_seconds,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def create_database_engine(settings: DatabaseSettings) -> AsyncEngine:
    # Session pooling in pgbouncer keeps asyncpg's statement cache safe;
    # pool_size + max_overflow stays within pgbouncer's 20 server connections per database.
    engine = create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_timeout_seconds,
        # Errors quote the statement, never its parameters (password hashes, addresses).
        hide_parameters=True,
        connect_args={
            "timeout": settings.database_timeout_seconds,
            "command_timeout": settings.database_timeout_seconds,
        },
    )
    _ping_after_idle(engine)
    observe_pool(engine)
    instrument_engine(engine)
    return engine


# A pooled connection unused this long is pinged before use. SQLAlchemy's pool_pre_ping
# pings on every checkout: a `SELECT 1` round trip per session, a tenth of orders' and
# payments' CPU per checkout (ADR 0017). A connection in steady use needs none: one that met a
# database restart failed on its own statement and was thrown away with the pool's others.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "cloudmart_checked_in_at"


def _ping_after_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle = time.monotonic() - record.info.get(_CHECKED_IN_AT, 0.0)
        if idle <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a fresh one).
            raise sa_exc.DisconnectionError("connection lost while idle") from exc

    # A new connection counts as just used: pinging it would only repeat the connect, and
    # a failing ping on it would exhaust the pool's retries into an error that is no 503.
    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def note_use(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()
