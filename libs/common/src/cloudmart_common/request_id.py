"""X-Request-ID: taken from the caller when well formed, else made (observed.py); on every
response."""

import re

REQUEST_ID_HEADER = "X-Request-ID"
# Anything else (spaces, CR/LF, 200 characters) could forge log lines or bloat them.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def accepted_request_id(raw: bytes | None) -> str | None:
    """The caller's id when it is well formed (observed.py makes one otherwise)."""
    if raw is None:
        return None
    value = raw.decode("latin-1")
    # fullmatch: `$` alone would also accept a value ending in a newline.
    return value if VALID_REQUEST_ID.fullmatch(value) else None
