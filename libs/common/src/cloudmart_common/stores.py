"""Clients of the data stores several services share, built from settings in a lifespan."""

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cloudmart_common.settings import CommonSettings, DatabaseSettings


def create_redis(settings: CommonSettings) -> "Redis":
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.health_check_timeout_seconds,
        socket_timeout=settings.health_check_timeout_seconds,
        health_check_interval=30,
    )


def create_database_engine(settings: DatabaseSettings) -> AsyncEngine:
    # Session pooling in pgbouncer keeps asyncpg's statement cache safe (RECIPES.md);
    # pool_size + max_overflow stays within pgbouncer's 20 server connections per database.
    return create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_timeout=settings.database_timeout_seconds,
        connect_args={
            "timeout": settings.database_timeout_seconds,
            "command_timeout": settings.database_timeout_seconds,
        },
    )
