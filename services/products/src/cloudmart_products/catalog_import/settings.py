"""Settings of the catalog import: the products service's, plus where files arrive."""

from pydantic import Field

from cloudmart_products.settings import Settings as ProductsSettings


class Settings(ProductsSettings):
    service_name: str = "catalog-import"
    s3_endpoint_url: str | None = Field(
        default="http://127.0.0.1:18000", description="The emulator locally; unset in AWS"
    )
    import_bucket: str = Field(default="catalog-imports")
    import_prefix: str = Field(default="incoming/")
    import_queue: str = Field(default="catalog-import-events", description="Local poller only")
