"""Settings of the API gateway: upstreams, limits, CORS."""

from pathlib import Path

from pydantic import Field

from cloudmart_common.settings import CommonSettings


def _local(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}"]


class Settings(CommonSettings):
    service_name: str = "gateway"

    # Several URLs per service spread the load; in Kubernetes one Service URL each.
    users_urls: list[str] = Field(default=_local(5001), description="http://users in k8s")
    products_urls: list[str] = Field(default=_local(5002))
    orders_urls: list[str] = Field(default=_local(5003))
    notifications_urls: list[str] = Field(default=_local(5004))
    payments_urls: list[str] = Field(default=_local(5005))
    dashboard_urls: list[str] = Field(default=_local(5006))

    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    instance_quarantine_seconds: float = Field(
        default=10.0, gt=0, description="A failing instance is skipped this long"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Larger bodies: 413")

    trusted_proxies: list[str] = Field(
        default=["127.0.0.1/32", "::1/128"],
        description="CIDRs whose X-Forwarded-For is believed (the Ingress's pod range in k8s)",
    )
    rate_limit_anonymous: str = Field(default="600/minute", description="Per client IP")
    rate_limit_user: str = Field(default="1200/minute", description="Per authenticated user")
    rate_limit_login: str = Field(default="10/minute", description="Per IP and username")
    rate_limit_password_reset: str = Field(default="5/minute", description="Per client IP")

    cors_origins: list[str] = Field(
        default=["http://127.0.0.1:5000", "http://localhost:5000", "http://127.0.0.1:5173"],
        description="Origins of the web UI",
    )
    openapi_cache_seconds: float = Field(default=60.0, gt=0)

    # The web UI (web/dist, built by `make up`) and what its checkout needs from Stripe.
    web_dist_dir: Path | None = Field(default=None, description="Built web UI; None: API only")
    web_stripe_api_base: str = Field(
        default="http://127.0.0.1:18420", description="https://api.stripe.com in production"
    )
    web_stripe_publishable_key: str = Field(default="pk_test_local", pattern=r"^pk_(test|live)_")
    web_show_test_cards: bool = Field(default=True, description="False with live keys")
