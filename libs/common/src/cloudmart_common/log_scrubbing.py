"""What must never reach a log line: passwords, tokens, keys and card numbers, redacted on output.

Scrubbing the formatted line, not the call sites, also covers what no one meant to log: an
exception message quoting a request body, a library logging its arguments.
"""

import re

REDACTED = "[redacted]"

# Names whose values are secrets wherever they appear: `password`, `new_password`,
# `access_token`, `client_secret`, `Authorization`, `card_number`, `cvc`, `api_key` ...
_SECRET_NAME = (
    r"[A-Za-z_]*(?:password|passwd|secret|token|authorization|api_?key|card_?number|cvc|cvv)"  # noqa: S105 (names, not a secret)
)

# "name": "value" (JSON, also escaped inside a JSON string), name=value, name: value
_NAMED_VALUE = re.compile(
    rf"""(?P<name>(?:\\?["'])?{_SECRET_NAME}(?:\\?["'])?\s*[:=]\s*)"""
    r"""(?P<value>\\?"(?:[^"\\]|\\(?!")|\\"(?=[^,}\s]))*\\?"|'[^']*'|[^\s,;&}\]]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A JWT anywhere (a token pasted into a URL, an error message): header.payload.signature
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# Stripe-style keys (sk_test_..., rk_live_..., whsec_...): never log one, test keys included.
_API_KEY = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9_-]{6,}")
# 13 to 19 digits, optionally grouped by spaces or dashes: redacted when Luhn says "card".
_DIGITS = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return REDACTED if _luhn_valid(digits) else match.group(0)


def _named(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = '\\"' if value.startswith('\\"') else value[0] if value[0] in "\"'" else ""
    return f"{match.group('name')}{quote}{REDACTED}{quote}"


def scrub(line: str) -> str:
    """`line` with every secret replaced by `[redacted]`; everything else untouched."""
    line = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", line)
    line = _JWT.sub(REDACTED, line)
    line = _API_KEY.sub(REDACTED, line)
    line = _NAMED_VALUE.sub(_named, line)
    return _DIGITS.sub(_card, line)
