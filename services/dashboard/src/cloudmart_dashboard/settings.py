"""Settings of the dashboard service."""

from pydantic import Field

from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "dashboard"

    windows_kept: int = Field(
        default=2016, ge=10, description="Window results kept (7 days of 5 min)"
    )
    summary_windows: int = Field(default=12, ge=1, description="Windows the summary adds up")
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
