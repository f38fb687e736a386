"""FastAPI dependencies for who may call a route: anyone, any user, admins only, services only."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloudmart_common import scopes
from cloudmart_common.errors import ForbiddenError, UnauthorizedError
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.principal import Principal

# Parses nothing we rely on: it puts the bearer scheme (and the lock icons) in the OpenAPI
# document. auto_error=False so that every refusal is ours, a problem+json 401.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token from `POST /api/users/login`, or a service token",
)


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other form."""
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def optional_user(
    request: Request,
    _documented_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal | None:
    """The caller, or None without an `Authorization` header; a bad token is still a 401."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    token = bearer_token(header)
    if token is None:
        raise UnauthorizedError("expected `Authorization: Bearer <token>`")
    verifier: JwksVerifier = request.app.state.jwt_verifier
    return await verifier.verify(token)


async def current_user(
    principal: Annotated[Principal | None, Depends(optional_user)],
) -> Principal:
    """Any verified caller: customer, admin or service."""
    if principal is None:
        raise UnauthorizedError("authentication required")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not principal.is_admin:
        raise ForbiddenError("administrators only")
    return principal


# Every dependency service_with made: the OpenAPI document gives their routes a 403.
SERVICE_GATES: set[Callable[..., Awaitable[Principal]]] = set()


def service_with(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting a service whose token holds `scope` (cloudmart_common.scopes).

    ReserveStock = Annotated[Principal, Depends(service_with(scopes.STOCK_RESERVE))]
    """

    async def require(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
        # End-user tokens never open service-only routes, admins' included.
        if not principal.is_service:
            raise ForbiddenError("service credentials required")
        if scope not in principal.scopes:
            raise ForbiddenError(f"the `{scope}` scope is required", error="insufficient_scope")
        return principal

    SERVICE_GATES.add(require)
    return require


async def require_user_id(principal: Annotated[Principal, Depends(current_user)]) -> int:
    """The caller's user id: a person (customer or admin), what a service token cannot be,
    such as a buyer or a card's owner."""
    if principal.user_id is None:
        raise ForbiddenError("a user's token is required; a service token has no user")
    return principal.user_id


def admin_or_service_with(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting admins, and services whose token holds `scope`."""

    async def require(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
        if principal.is_admin or (principal.is_service and scope in principal.scopes):
            return principal
        raise ForbiddenError(f"administrators and services granted `{scope}` only")

    SERVICE_GATES.add(require)
    return require


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(require_admin)]
CallerUserId = Annotated[int, Depends(require_user_id)]
# The internal routes' callers, one per scope that opens a route (cloudmart_common.scopes).
UsersReader = Annotated[Principal, Depends(service_with(scopes.USERS_READ))]
StockReserver = Annotated[Principal, Depends(service_with(scopes.STOCK_RESERVE))]
PaymentCharger = Annotated[Principal, Depends(service_with(scopes.PAYMENTS_CHARGE))]
# Routes open to admins as well as to services holding the scope.
MoneyMover = Annotated[Principal, Depends(admin_or_service_with(scopes.PAYMENTS_CHARGE))]
NotificationSender = Annotated[Principal, Depends(admin_or_service_with(scopes.NOTIFICATIONS_SEND))]
