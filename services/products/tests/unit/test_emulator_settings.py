"""The emulator's address and keys are defaults of the local stack only."""

import pytest

from cloudmart_products.settings import Settings


def test_locally_the_emulator_is_the_default() -> None:
    settings = Settings(environment="local")
    assert settings.dynamodb_endpoint_url == "http://127.0.0.1:18000"
    assert settings.aws_access_key_id == "test"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_in_aws_boto_finds_dynamodb_and_credentials_itself(environment: str) -> None:
    settings = Settings(environment=environment)
    assert settings.dynamodb_endpoint_url is None
    assert settings.aws_access_key_id is None
    assert settings.aws_secret_access_key is None


def test_an_explicit_endpoint_still_wins_outside_local() -> None:
    settings = Settings(environment="dev", dynamodb_endpoint_url="https://dynamodb.example.test")
    assert settings.dynamodb_endpoint_url == "https://dynamodb.example.test"


def test_the_catalog_import_lambda_uses_real_s3_outside_local() -> None:
    from cloudmart_products.catalog_import.settings import Settings as ImportSettings

    assert ImportSettings(environment="local").s3_endpoint_url == "http://127.0.0.1:18000"
    assert ImportSettings(environment="prod").s3_endpoint_url is None
