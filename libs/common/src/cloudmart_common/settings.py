"""Settings every service shares; defaults are the local stack of `make up`."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Environment variables read by every service (documented in the README's table)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(default="cloudmart", description="Name in logs, metrics, traces")
    environment: str = Field(default="local", description="local | dev | prod")
    log_level: str = Field(default="INFO")
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds")

    redis_url: str = Field(default="redis://127.0.0.1:16379/0")
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092")

    service_client_id: str = Field(default="", description="OAuth client id of this service")
    service_client_secret: SecretStr = Field(default=SecretStr(""))

    health_check_timeout_seconds: float = Field(default=3.0, gt=0)


def local_database_password(database: str) -> str:
    """The local stack's password of a service's own role (created by `make up`, local only)."""
    return f"{database}-local-only"


def local_database_url(database: str) -> SecretStr:
    """The local stack's URL for one service's database: its own role, through pgbouncer."""
    password = local_database_password(database)
    return SecretStr(f"postgresql+asyncpg://{database}:{password}@127.0.0.1:16432/{database}")


class DatabaseSettings(BaseSettings):
    """Mixin for the services that own a PostgreSQL database (reached through pgbouncer)."""

    database_url: SecretStr = Field(description="SQLAlchemy URL; pgbouncer on 16432 locally")
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_timeout_seconds: float = Field(default=10.0, gt=0)
