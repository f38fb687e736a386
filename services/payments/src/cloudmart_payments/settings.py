"""Settings of the payments service: the common ones plus its database and Stripe."""

from pydantic import Field, SecretStr

from cloudmart_common.settings import CommonSettings, DatabaseSettings, local_database_url


class Settings(CommonSettings, DatabaseSettings):
    service_name: str = "payments"
    database_url: SecretStr = local_database_url("payments")

    stripe_api_key: SecretStr = Field(
        default=SecretStr("sk_test_local-only"), description="Secret key (sk_live_/sk_test_)"
    )
    stripe_api_base: str = Field(
        default="http://127.0.0.1:18420", description="https://api.stripe.com in production"
    )
    stripe_webhook_secret: SecretStr = Field(
        default=SecretStr("whsec_local-only"), description="Signing secret of the webhook endpoint"
    )
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    stripe_timeout_seconds: float = Field(default=20.0, gt=0)
    currencies: frozenset[str] = Field(
        default=frozenset({"USD", "EUR", "GBP"}),
        description="Accepted ISO 4217 codes; all have two decimal places",
    )
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    reconcile_after_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A payment or refund still pending this long is settled from Stripe's state",
    )
