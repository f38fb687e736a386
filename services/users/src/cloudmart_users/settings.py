"""Settings of the users service: the common ones plus its database, keys and token lifetimes."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from cloudmart_common.sealed import SealKey
from cloudmart_common.settings import CommonSettings, DatabaseSettings, local_database_url


class Settings(CommonSettings, DatabaseSettings):
    service_name: str = "users"
    database_url: SecretStr = local_database_url("users")

    jwt_signing_keys_dir: Path | None = Field(
        default=None,
        description="PEM RSA private keys, one per file named <kid>.pem; the newest signs, all "
        "are published. Unset: an ephemeral key (local development only)",
    )
    access_token_seconds: int = Field(default=3600, gt=0)
    refresh_token_seconds: int = Field(default=30 * 24 * 3600, gt=0)
    service_token_seconds: int = Field(default=300, gt=0)
    password_reset_seconds: int = Field(default=1800, gt=0)
    reset_token_key: SealKey = Field(
        description="Fernet key users and notifications share: the reset token travels sealed"
    )
    service_clients_file: Path | None = Field(
        default=None, description="JSON {client_id: secret} of the services (architecture.md §9)"
    )
    admin_username: str = Field(
        default="admin",
        validation_alias=AliasChoices("CLOUDMART_ADMIN_USERNAME", "ADMIN_USERNAME"),
    )
    admin_password: SecretStr = Field(
        default=SecretStr("admin-local-only"),
        validation_alias=AliasChoices("CLOUDMART_ADMIN_PASSWORD", "ADMIN_PASSWORD"),
    )
    admin_email: str = Field(default="admin@cloudmart.example.com")
