"""Settings of the notifications service: the common ones plus its channels."""

from pydantic import Field, SecretStr

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
