"""Clients of the data stores several services share, built from settings in a lifespan."""

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
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
    # Session pooling in pgbouncer keeps asyncpg's statement cache safe (RECIPES.md);
    # pool_size + max_overflow stays within pgbouncer's 20 server connections per database.
    engine = create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_timeout=settings.database_timeout_seconds,
        # Errors quote the statement, never its parameters (password hashes, addresses).
        hide_parameters=True,
        connect_args={
            "timeout": settings.database_timeout_seconds,
            "command_timeout": settings.database_timeout_seconds,
        },
    )
    observe_pool(engine)
    instrument_engine(engine)
    return engine
