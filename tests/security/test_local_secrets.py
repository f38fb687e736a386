"""No service starts outside `local` with one of the local stack's made-up secrets."""

import importlib
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from cloudmart_common import sealed
from cloudmart_common.settings import local_database_url

SERVICES = ["users", "products", "orders", "payments", "notifications", "gateway", "dashboard"]
WITH_DATABASE = {"users", "orders", "payments"}


def _settings(service: str, **values: Any) -> Any:
    module = importlib.import_module(f"cloudmart_{service}.settings")
    if service in ("users", "notifications"):
        values.setdefault("reset_token_key", SecretStr(sealed.new_key()))
    if service in WITH_DATABASE:
        values.setdefault("database_url", local_database_url(service))
    return module.Settings(**values)


@pytest.mark.parametrize("service", SERVICES)
def test_local_defaults_are_refused_outside_local(service: str) -> None:
    _settings(service)  # the local stack: fine
    real = {"service_client_secret": SecretStr("a-real-secret")}
    if service in WITH_DATABASE:
        with pytest.raises(ValidationError, match="database_url"):
            _settings(service, environment="prod", **real)
        real["database_url"] = SecretStr("postgresql+asyncpg://u:real@db/x")
    if service == "users":
        with pytest.raises(ValidationError, match="admin_password"):
            _settings(service, environment="dev", **real)
        real["admin_password"] = SecretStr("a-real-admin-password")
    if service == "payments":
        with pytest.raises(
            ValidationError, match="stripe_api_key, stripe_webhook_secret: the local"
        ):
            _settings(service, environment="prod", **real)
        real["stripe_api_key"] = SecretStr("sk_live_real")
        real["stripe_webhook_secret"] = SecretStr("whsec_real")
    _settings(service, environment="prod", **real)
