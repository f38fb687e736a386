"""What the orders tests share: a client of the service and the accounts they act as."""

import httpx
import pytest

from tests.accounts import Account, admin, new_customer
from tests.stack_control import service_url


@pytest.fixture(scope="module")
def http() -> httpx.Client:
    return httpx.Client(base_url=service_url("orders"), timeout=60)


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


@pytest.fixture(scope="module")
def buyer() -> Account:
    return new_customer("buyer")
