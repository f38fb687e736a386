"""Settings of the orders service: the common ones plus its database, its upstreams, the saga."""

from pydantic import Field, SecretStr

from cloudmart_common.settings import CommonSettings, DatabaseSettings, local_database_url


class Settings(CommonSettings, DatabaseSettings):
    service_name: str = "orders"
    database_url: SecretStr = local_database_url("orders")

    users_url: str = Field(default="http://127.0.0.1:5001", description="http://users in k8s")
    products_url: str = Field(default="http://127.0.0.1:5002")
    payments_url: str = Field(default="http://127.0.0.1:5005")

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="The shop's currency")
    max_order_lines: int = Field(default=50, ge=1, le=99)
    max_concurrent_checkouts: int = Field(
        default=8,
        ge=1,
        description="Sagas run at once per process; more wait their turn (a bulkhead that keeps "
        "a burst within the database pool)",
    )
    recovery_interval_seconds: float = Field(default=15.0, gt=0)
    recovery_after_seconds: float = Field(
        default=90.0,
        gt=0,
        description="An order still pending this long is finished or compensated by recovery",
    )
