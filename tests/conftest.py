"""Platform tests run against the stack `make up` started; they refuse to run without it."""

import pytest

from cloudmart_local import supervisor
from tests.faults import FIGURES


@pytest.fixture(scope="session", autouse=True)
def _stack_is_up() -> None:
    if not supervisor.is_running():
        pytest.exit("the local stack is not running: run `make up` first (make test does)", 2)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault tests' figures, one line each, whether they passed or not."""
    if FIGURES:
        terminalreporter.section("resilience figures")
        for fault, figures in FIGURES.items():
            line = ", ".join(f"{name}={value}" for name, value in figures.items())
            terminalreporter.write_line(f"{fault}: {line}")
