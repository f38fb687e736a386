"""Settings of the users service: the common ones plus its database."""

from pydantic import SecretStr

from cloudmart_common.settings import CommonSettings, DatabaseSettings, local_database_url


class Settings(CommonSettings, DatabaseSettings):
    service_name: str = "users"
    database_url: SecretStr = local_database_url("users")
