"""Platform tests run against the stack `make up` started; they refuse to run without it."""

import pytest

from cloudmart_local import supervisor


@pytest.fixture(scope="session", autouse=True)
def _stack_is_up() -> None:
    if not supervisor.is_running():
        pytest.exit("the local stack is not running: run `make up` first (make test does)", 2)
