"""Secrets are redacted from log lines, whatever shape they arrive in; other text is untouched."""

import pytest

from cloudmart_common.log_scrubbing import REDACTED, scrub

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIxMiIsInJvbGUiOiJjdXN0b21lciJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('{"message": "login", "password": "hunter2 with spaces"}', "hunter2 with spaces"),
        ('body={"new_password":"S3cret!pass","x":1}', "S3cret!pass"),
        ('{"message": "got {\\"password\\": \\"p@ss word\\"}"}', "p@ss word"),
        ("refresh_token=abc123def&next=1", "abc123def"),
        ("client_secret: 'svc-secret-1'", "svc-secret-1"),
        ("Authorization: Bearer opaque-token-value", "opaque-token-value"),
        (f"token in a url /x?t={JWT}", JWT),
        ("stripe key sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
        ("webhook whsec_local-only-secret", "whsec_local-only-secret"),
        ("card 4242 4242 4242 4242 declined", "4242 4242 4242 4242"),
        ("card 4000-0000-0000-0002", "4000-0000-0000-0002"),
        ('{"card_number": "5555555555554444", "cvc": "123"}', "5555555555554444"),
        ('{"cvc": "123"}', '"123"'),
    ],
)
def test_a_secret_is_redacted(line: str, secret: str) -> None:
    scrubbed = scrub(line)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    "line",
    [
        '{"message": "password reset requested", "user_id": "12", "order_id": 7}',
        "order 17 total 25.50 for user 3, token_id=5f0c",
        "payment pi_1234567890abcdef for 1999 cents",
        "sku ABC-123-XYZ, 12345678901 is not a card",  # 11 digits: too short
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    ],
)
def test_ordinary_text_is_left_alone(line: str) -> None:
    assert scrub(line) == line


def test_a_number_failing_the_luhn_check_is_not_taken_for_a_card() -> None:
    assert scrub("ref 4242424242424241") == "ref 4242424242424241"
