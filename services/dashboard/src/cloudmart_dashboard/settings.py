"""Settings of the dashboard service."""

from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "dashboard"
