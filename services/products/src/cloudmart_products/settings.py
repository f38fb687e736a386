"""Settings of the products service: the common ones plus DynamoDB, the cache and stock alerts."""

from pydantic import Field, SecretStr

from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "products"

    aws_region: str = Field(default="us-east-1")
    dynamodb_endpoint_url: str | None = Field(
        default="http://127.0.0.1:18000",
        description="The local DynamoDB emulator; unset in AWS to use the real endpoint",
    )
    # The emulator accepts any key; in AWS these stay empty and IRSA supplies credentials.
    aws_access_key_id: str | None = Field(default="test")
    aws_secret_access_key: SecretStr | None = Field(default=SecretStr("test"))
    products_table: str = Field(default="products")
    reservations_table: str = Field(default="product-reservations")
    product_cache_seconds: int = Field(default=3600, gt=0)
    low_stock_threshold: int = Field(default=10, ge=0)
