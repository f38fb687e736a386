"""Password rules and hashing, without I/O."""

import pytest

from cloudmart_users.passwords import hash_password, strength_problem, verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "10 to 128"),
        ("x" * 129, "10 to 128"),
        ("onlylowercaseletters", "three of"),
        ("lowercase1234567", "three of"),
        ("Alice-Password-1", "username"),
    ],
)
def test_weak_passwords_are_explained(password: str, problem: str) -> None:
    assert problem in (strength_problem(password, username="alice") or "")


@pytest.mark.parametrize("password", ["Correct-Horse-42", "tr0ub4dor&3xyz", "ÄÖÜ-äöü-1234"])
def test_strong_passwords_pass(password: str) -> None:
    assert strength_problem(password, username="alice") is None


def test_hashes_are_salted_argon2id_and_verify() -> None:
    first, second = hash_password("Correct-Horse-42"), hash_password("Correct-Horse-42")
    assert first != second
    assert first.startswith("$argon2id$")
    assert verify_password(first, "Correct-Horse-42")
    assert not verify_password(first, "correct-horse-42")


def test_a_missing_user_never_verifies() -> None:
    assert not verify_password(None, "not-a-real-password-but-equally-slow")
