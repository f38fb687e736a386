"""What the gateway routes where, and which routes are open without a token.

Only `/api/<service>/...` is routed: `/internal/...`, `/health`, `/ready` and `/metrics` of the
services are never reachable from outside.
"""

import re
from collections.abc import Iterable

# The first path segment after /api, and the service that owns it.
SERVICE_OF_PREFIX = {
    "users": "users",
    "products": "products",
    "orders": "orders",
    "payments": "payments",
    "notifications": "notifications",
    "analytics": "dashboard",
}

# (method, path pattern) open to anonymous callers; everything else needs a valid token.
PUBLIC_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(pattern))
    for method, pattern in (
        ("POST", r"^/api/users/(register|login|logout|token/refresh|oauth/token)$"),
        ("POST", r"^/api/users/password-reset(/confirm)?$"),
        ("GET", r"^/api/users/\.well-known/jwks\.json$"),
        ("GET", r"^/api/products(/.*)?$"),
        ("HEAD", r"^/api/products(/.*)?$"),
        ("POST", r"^/api/payments/webhook$"),  # Stripe signs it; the service verifies
    )
)

# Paths only admins may call: refused at the edge as well as by the owning service, so a
# service-side slip cannot open an operator's tool to customers.
ADMIN_ONLY_ROUTES: tuple[re.Pattern[str], ...] = (re.compile(r"^/api/notifications/dlq(/.*)?$"),)

LOGIN_PATH = "/api/users/login"
PASSWORD_RESET_PATHS = frozenset({"/api/users/password-reset", "/api/users/password-reset/confirm"})


def _any_of(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str]:
    """The patterns as one alternation: one match per request, not one per route."""
    return re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns))


_PUBLIC_BY_METHOD: dict[str, re.Pattern[str]] = {
    method: _any_of(p for m, p in PUBLIC_ROUTES if m == method)
    for method in {m for m, _ in PUBLIC_ROUTES}
}


def is_public(method: str, path: str) -> bool:
    pattern = _PUBLIC_BY_METHOD.get(method)
    return pattern is not None and pattern.match(path) is not None


_OPEN_PATHS = _any_of(pattern for _, pattern in PUBLIC_ROUTES)


def is_open_path(path: str) -> bool:
    """A path with an open operation. Any request to it goes through without a token, for
    the service to answer by method: its open operation, 401 for one that needs a token (each
    service authenticates on its own too), 405 with `Allow` for a method the path lacks."""
    return _OPEN_PATHS.match(path) is not None


_ADMIN_ONLY = _any_of(ADMIN_ONLY_ROUTES)


def is_admin_only(path: str) -> bool:
    return _ADMIN_ONLY.match(path) is not None


def service_for(path: str) -> str | None:
    """The service owning an /api path, or None (the gateway answers 404)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "api":
        return None
    # Dot segments must not climb out of /api/<service>/ on the way to the upstream.
    if any(part in (".", "..") for part in parts):
        return None
    return SERVICE_OF_PREFIX.get(parts[2])
