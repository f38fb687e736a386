"""Settings of the gateway service."""

from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "gateway"
