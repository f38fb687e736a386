"""A value sealed for one reader: authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256)
with a key only the writer and that reader hold.

The password-reset token travels from the users service to the notifications service through
the outbox, Kafka and perhaps the dead-letter topic; sealed, what all of those keep (and show,
and log) is useless to whoever reads it there. Only the email carries the token itself.
"""

from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from pydantic import AfterValidator, SecretStr


class SealBroken(ValueError):
    """Not sealed with this key, or altered."""


def _usable(key: SecretStr) -> SecretStr:
    try:
        Fernet(key.get_secret_value().encode())
    except ValueError as exc:
        raise ValueError("not a Fernet key (32 bytes, url-safe base64)") from exc
    return key


# A setting holding a key: a malformed one stops the service at start, not at its first use.
SealKey = Annotated[SecretStr, AfterValidator(_usable)]


def new_key() -> str:
    return Fernet.generate_key().decode()


def seal(key: SecretStr, value: str) -> str:
    return Fernet(key.get_secret_value().encode()).encrypt(value.encode()).decode()


def unseal(key: SecretStr, sealed: str) -> str:
    try:
        return Fernet(key.get_secret_value().encode()).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SealBroken("not sealed with this key") from exc
