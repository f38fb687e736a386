"""Platform tests run against the stack `make up` started; they refuse to run without it."""

import pytest

from cloudmart_local import supervisor
from tests.figures import SECTIONS


@pytest.fixture(scope="session", autouse=True)
def _stack_is_up() -> None:
    if not supervisor.is_running():
        pytest.exit("the local stack is not running: run `make up` first (make test does)", 2)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for section, lines in SECTIONS.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)
