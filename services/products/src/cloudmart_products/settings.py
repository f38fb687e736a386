"""Settings of the products service: the common ones plus DynamoDB, the cache and stock alerts."""

from typing import Any

from pydantic import Field, SecretStr, model_validator

from cloudmart_common.settings import CommonSettings


class Settings(CommonSettings):
    service_name: str = "products"

    aws_region: str = Field(default="us-east-1")
    dynamodb_endpoint_url: str | None = Field(
        default="http://127.0.0.1:18000",
        description="The local DynamoDB emulator; AWS's own endpoint outside `local`",
    )
    # The emulator accepts any key; in AWS these stay empty and IRSA supplies credentials.
    aws_access_key_id: str | None = Field(default="test")
    aws_secret_access_key: SecretStr | None = Field(default=SecretStr("test"))
    products_table: str = Field(default="products")
    reservations_table: str = Field(default="product-reservations")
    product_cache_seconds: int = Field(default=3600, gt=0)
    # Pages are exact through the catalog generation; the TTL bounds what no bump can reach:
    # the memory of pages left behind by bumps, and a category page listed while the GSI
    # still lagged a write (in AWS; the emulator's indexes are synchronous).
    product_page_cache_seconds: int = Field(default=300, gt=0)
    low_stock_threshold: int = Field(default=10, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _emulator_defaults_only_locally(cls, data: Any) -> Any:
        """Outside `local` the emulator's address and keys are never a default: an environment
        variable cannot unset a field, and in EKS boto must find DynamoDB and IRSA by itself."""
        if isinstance(data, dict) and data.get("environment", "local") != "local":
            for name in _EMULATOR_FIELDS:
                if name in cls.model_fields:  # the catalog import adds its S3 endpoint
                    data.setdefault(name, None)
        return data


_EMULATOR_FIELDS = (
    "dynamodb_endpoint_url",
    "s3_endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
)
