"""What the products service's integration tests share: a client of the running service and
the callers it tells apart."""

from collections.abc import Iterator

import httpx
import pytest

from cloudmart_local.layout import SERVICE_PORTS
from tests import accounts

BASE = f"http://127.0.0.1:{SERVICE_PORTS['products']}"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def admin() -> dict[str, str]:
    return accounts.admin().headers


@pytest.fixture(scope="module")
def customer() -> dict[str, str]:
    return accounts.new_customer().headers


@pytest.fixture(scope="module")
def service() -> dict[str, str]:
    return accounts.service_headers("orders")
