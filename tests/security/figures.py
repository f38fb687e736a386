"""The security suites' figures, printed together at the end of the session (conftest.py)."""

FIGURES: list[str] = []
