"""What the suites measured, by section, printed at the end of the session (tests/conftest.py)
whether their tests passed or not."""

SECTIONS: dict[str, list[str]] = {}


def record(section: str, line: str) -> None:
    SECTIONS.setdefault(section, []).append(line)
