"""Password hashing (argon2id) and the strength rule for new passwords."""

from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-equally-slow")

MIN_LENGTH, MAX_LENGTH = 10, 128
# Unicode-aware: "Ä" is upper case, "ß" lower case.
_CLASSES: tuple[Callable[[str], bool], ...] = (
    str.islower,
    str.isupper,
    str.isdigit,
    lambda character: not character.isalnum(),
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def strength_problem(password: str, *, username: str | None = None) -> str | None:
    """Why a new password is too weak, or None when it is acceptable."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
    if sum(any(map(is_class, password)) for is_class in _CLASSES) < 3:
        return "must mix at least three of: lower case, upper case, digits, symbols"
    if username and username.lower() in password.lower():
        return "must not contain the username"
    return None
