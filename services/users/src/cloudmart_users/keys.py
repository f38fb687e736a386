"""The RSA keys that sign tokens: the newest signs, every one is published in the JWKS."""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


class KeyRing:
    """Rotation: add a newer `<kid>.pem`; drop the old one once its tokens have expired."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._keys = keys

    @property
    def signing(self) -> SigningKey:
        return self._keys[-1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self._keys]}

    @classmethod
    def load(cls, directory: Path | None) -> "KeyRing":
        if directory is None:
            log.warning("JWT_SIGNING_KEYS_DIR unset: signing with an ephemeral key (local only)")
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return cls([SigningKey("ephemeral", key)])
        keys = []
        # Sorted by name: name keys by creation time (e.g. 2026-11-25) so the newest is last.
        for path in sorted(directory.glob("*.pem")):
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError(f"{path} is not an RSA private key")
            keys.append(SigningKey(path.stem, private))
        return cls(keys)
