"""Settings every service shares; defaults are the local stack of `make up`."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Marks every secret the local stack makes up for itself (database passwords, the admin's,
# Stripe's test keys): none of them may reach a shared environment.
LOCAL_SECRET_MARK = "local-only"  # noqa: S105 - a marker looked for, not a secret


class CommonSettings(BaseSettings):
    """Environment variables read by every service (documented in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = Field(default="cloudmart", description="Name in logs, metrics, traces")
    environment: str = Field(default="local", description="local | dev | prod")
    log_level: str = Field(default="INFO")
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds")

    redis_url: str = Field(default="redis://127.0.0.1:16379/0")
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092")
    # SSL for MSK's TLS listener (the chart sets it); the local broker is plaintext.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL"] = Field(default="PLAINTEXT")
    kafka_ssl_ca_file: str | None = Field(
        default=None, description="CA bundle for the brokers; unset: the system's trust store"
    )

    service_client_id: str = Field(default="", description="OAuth client id of this service")
    service_client_secret: SecretStr = Field(default=SecretStr(""))

    health_check_timeout_seconds: float = Field(default=3.0, gt=0)

    # Tokens: verified locally from the users service's JWKS (architecture.md §9).
    jwks_url: str = Field(default="http://127.0.0.1:5001/api/users/.well-known/jwks.json")
    jwt_issuer: str = Field(default="cloudmart-users")
    jwt_audience: str = Field(default="cloudmart")
    jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refresh_interval_seconds: float = Field(
        default=10.0, ge=0, description="Unknown `kid`s refresh the JWKS at most this often"
    )
    service_token_url: str = Field(default="http://127.0.0.1:5001/api/users/oauth/token")

    # Service-to-service calls (architecture.md §6).
    service_call_timeout_seconds: float = Field(default=5.0, gt=0)
    service_call_retries: int = Field(default=3, ge=1, description="Attempts, idempotent calls")
    breaker_failure_threshold: int = Field(default=5, ge=1)
    # Short: after a blip (a database restart) the upstream is back within seconds, and every
    # second the circuit stays open after that is an error window of our own making.
    breaker_recovery_seconds: float = Field(default=10.0, gt=0)

    # Kafka producer and outbox relay.
    kafka_delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    outbox_poll_interval_seconds: float = Field(default=0.5, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1)

    # Fault flags (ADR 0020): flagd's sync API; unset (the cloud) means every fault is off.
    flagd_host: str | None = Field(default=None, description="flagd host; unset: no faults")
    flagd_port: int = Field(default=8015, ge=1, le=65535, description="flagd's sync API port")

    # Observability.
    log_format: str = Field(default="json", pattern="^(json|text)$")
    tracing_enabled: bool = Field(default=False, description="Export OpenTelemetry spans")
    trace_sample_ratio: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of new traces recorded; a sampled incoming traceparent always is",
    )
    trace_file: Path | None = Field(
        default=None, description="Also write spans as JSON lines here (the local stack)"
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector, e.g. http://otel-collector:4318"
    )

    @model_validator(mode="after")
    def _no_local_secrets_outside_local(self) -> Self:
        """Outside `local`, a setting still holding one of the local stack's made-up secrets
        (a default nobody overrode, a local value copied into a cluster) stops the service."""
        if self.environment == "local":
            return self
        local = sorted(
            name
            for name in type(self).model_fields
            if LOCAL_SECRET_MARK in _text(getattr(self, name))
        )
        if local:
            raise ValueError(
                f"{', '.join(local)}: the local stack's secret in environment "
                f"{self.environment!r}; set the real one"
            )
        return self


def _text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def local_database_password(database: str) -> str:
    """The local stack's password of a service's own role (created by `make up`, local only)."""
    return f"{database}-{LOCAL_SECRET_MARK}"


def local_database_url(database: str) -> SecretStr:
    """The local stack's URL for one service's database: its own role, through pgbouncer."""
    password = local_database_password(database)
    return SecretStr(f"postgresql+asyncpg://{database}:{password}@127.0.0.1:16432/{database}")


class DatabaseSettings(BaseSettings):
    """Mixin for the services that own a PostgreSQL database (reached through pgbouncer)."""

    database_url: SecretStr = Field(description="SQLAlchemy URL; pgbouncer on 16432 locally")
    # 12 of pgbouncer's 20 server connections per database: session pooling pins one per
    # client connection, so the rest is headroom for a second replica, migrations, operators.
    database_pool_size: int = Field(default=8, ge=1)
    database_max_overflow: int = Field(default=4, ge=0)
    database_timeout_seconds: float = Field(default=10.0, gt=0)
