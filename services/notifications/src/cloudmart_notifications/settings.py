"""Settings of the notifications service: the common ones plus its channels and consumer."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from cloudmart_common.sealed import SealKey
from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "notifications"

    smtp_host: str = Field(default="127.0.0.1")
    smtp_port: int = Field(default=11025, gt=0, lt=65536)
    smtp_use_tls: bool = Field(default=False, description="Implicit TLS (SMTPS)")
    smtp_start_tls: bool = Field(default=False, description="STARTTLS after connecting")
    smtp_username: str = Field(default="")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    sender_email: str = Field(default="CloudMart <no-reply@cloudmart.example.com>")

    sms_backend: Literal["sink", "twilio"] = Field(default="sink")
    twilio_account_sid: str = Field(default="")
    twilio_auth_token: SecretStr = Field(default=SecretStr(""))
    twilio_from_number: str = Field(default="")
    push_backend: Literal["sink", "fcm"] = Field(default="sink")
    fcm_project_id: str = Field(default="")
    fcm_credentials_file: Path | None = Field(default=None, description="Service account JSON")
    fcm_api_base: str = Field(default="https://fcm.googleapis.com")

    users_url: str = Field(default="http://127.0.0.1:5001")
    reset_token_key: SealKey = Field(
        description="Fernet key users and notifications share: the reset token travels sealed"
    )
    contact_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a user's contact data is reused (0: asked for every message)",
    )
    shop_url: str = Field(default="http://127.0.0.1:5000", description="Links in messages")
    admin_emails: list[str] = Field(
        default=["admin@cloudmart.example.com"], description="Who gets low-stock alerts"
    )

    consumer_max_attempts: int = Field(default=6, ge=1)
    # Records per poll, as designed: ten emails' worth between offset commits.
    consumer_max_poll_records: int = Field(default=10, ge=1, le=500)
    consumer_retry_initial_seconds: float = Field(default=0.5, gt=0)
    consumer_retry_max_seconds: float = Field(default=16.0, gt=0)
    sent_log_size: int = Field(default=10_000, ge=100, description="Entries kept in the sent log")
    dlq_max_replays: int = Field(
        default=3, ge=1, le=100, description="Redrives of one event before replay is refused"
    )
