"""FastAPI dependencies for who may call a route: any user, admins only, services only."""

from typing import Annotated

from fastapi import Depends, Request

from cloudmart_common.errors import ForbiddenError, UnauthorizedError
from cloudmart_common.jwks import JwksVerifier
from cloudmart_common.principal import Principal


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("expected `Authorization: Bearer <token>`")
    return token.strip()


async def optional_user(request: Request) -> Principal | None:
    token = _bearer_token(request)
    if token is None:
        return None
    verifier: JwksVerifier = request.app.state.jwt_verifier
    return await verifier.verify(token)


async def current_user(request: Request) -> Principal:
    principal = await optional_user(request)
    if principal is None:
        raise UnauthorizedError("authentication required")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    if not principal.is_admin:
        raise ForbiddenError("administrators only")
    return principal


async def require_service(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    # End users never reach /internal routes, whatever their role (DESIGN.md §9).
    if not principal.is_service:
        raise ForbiddenError("service credentials required")
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(require_admin)]
ServiceCaller = Annotated[Principal, Depends(require_service)]
