"""Routes of the users service: parse, authorize, call the service layer, return a schema."""

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Path, Request, Response, status

from cloudmart_common.auth import CurrentUser, UsersReader
from cloudmart_common.db import RowId
from cloudmart_common.errors import BadRequestError, ForbiddenError
from cloudmart_users import service
from cloudmart_users.dependencies import (
    DbSession,
    Keys,
    RefreshSessions,
    Relay,
    Resets,
    ServiceClients,
    Sessions,
    Statements,
    Tokens,
    UsersSettings,
)
from cloudmart_users.errors import InvalidCredentials
from cloudmart_users.models import User
from cloudmart_users.schemas import (
    AcceptedOut,
    JwksOut,
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    ProfileUpdate,
    RefreshIn,
    RegisterIn,
    ServiceTokenOut,
    TokenOut,
    UserOut,
    UserStatusOut,
)
from cloudmart_users.sessions import Session

UserId = Annotated[RowId, Path()]

router = APIRouter(prefix="/api/users", tags=["users"])
internal = APIRouter(prefix="/internal/users", tags=["internal"])


def _tokens_for(user: User, session: Session, tokens: Tokens, settings: UsersSettings) -> TokenOut:
    return TokenOut(
        access_token=tokens.access_token(user.id, user.role, session.session_id),
        expires_in=settings.access_token_seconds,
        refresh_token=session.refresh_token,
        user=UserOut.model_validate(user),
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={409: {"description": "The username or email is taken (one answer for both)"}},
)
async def register(body: RegisterIn, sessions: Sessions) -> User:
    return await service.register(sessions, body)


@router.post(
    "/login",
    response_model=TokenOut,
    responses={401: {"description": "Wrong password, or no such (or a deleted) user: one answer"}},
)
async def login(
    body: LoginIn,
    db: DbSession,
    store: RefreshSessions,
    tokens: Tokens,
    settings: UsersSettings,
) -> TokenOut:
    user = await service.authenticate(db, body.username, body.password)
    return _tokens_for(user, await store.open(user.id), tokens, settings)


@router.post(
    "/token/refresh",
    response_model=TokenOut,
    responses={
        401: {"description": "The refresh token is invalid, expired or already used"},
        404: {"description": "The session's user no longer exists"},
    },
)
async def refresh(
    body: RefreshIn, db: DbSession, store: RefreshSessions, tokens: Tokens, settings: UsersSettings
) -> TokenOut:
    session = await service.refresh(store, body.refresh_token)
    user = await service.get_user(db, session.user_id)
    return _tokens_for(user, session, tokens, settings)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, store: RefreshSessions) -> None:
    await store.close(body.refresh_token)


@router.get("/.well-known/jwks.json", response_model=JwksOut)
async def jwks(keys: Keys, response: Response) -> JwksOut:
    response.headers["Cache-Control"] = "public, max-age=300"
    return JwksOut.model_validate(keys.jwks())


@router.post(
    "/oauth/token",
    response_model=ServiceTokenOut,
    responses={
        400: {"description": "`grant_type` is not `client_credentials`, or an unreadable body"},
        401: {"description": "Missing or malformed credentials, an unknown client, a wrong secret"},
    },
)
async def service_token(
    request: Request,
    # Documented as its one value; another is answered as OAuth says (400 unsupported_grant_type).
    grant_type: Annotated[str, Form(json_schema_extra={"enum": ["client_credentials"]})],
    clients: ServiceClients,
    tokens: Tokens,
    settings: UsersSettings,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> ServiceTokenOut:
    """OAuth 2.0 client credentials for services (RFC 6749 §4.4), HTTP Basic or form fields."""
    if grant_type != "client_credentials":
        raise BadRequestError("unsupported grant_type", error="unsupported_grant_type")
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            encoded_id, _, encoded_secret = base64.b64decode(basic[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCredentials("malformed Basic credentials") from exc
        # RFC 6749 §2.3.1: the client form-encodes id and secret before Basic encoding.
        client_id, client_secret = unquote_plus(encoded_id), unquote_plus(encoded_secret)
    if not client_id or not client_secret:
        raise InvalidCredentials("client credentials required")
    name = service.authenticate_service(clients, client_id, client_secret)
    return ServiceTokenOut(
        access_token=tokens.service_token(name), expires_in=settings.service_token_seconds
    )


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=AcceptedOut)
async def password_reset(
    body: PasswordResetIn,
    sessions: Sessions,
    resets: Resets,
    settings: UsersSettings,
    relay: Relay,
) -> AcceptedOut:
    # Always 202: the answer must not reveal whether the address is registered.
    await service.request_password_reset(
        sessions,
        resets,
        str(body.email),
        settings.password_reset_seconds,
        settings.reset_token_key,
        after_commit=relay.wake,
    )
    return AcceptedOut()


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
async def password_reset_confirm(
    body: PasswordResetConfirmIn, sessions: Sessions, store: RefreshSessions, resets: Resets
) -> None:
    await service.confirm_password_reset(sessions, store, resets, body.token, body.new_password)


@router.get(
    "/me",
    response_model=UserOut,
    responses={
        400: {"description": "A service token names no user"},
        404: {"description": "The account was deleted"},
    },
)
async def me(user: CurrentUser, db: DbSession) -> User:
    if user.user_id is None:
        raise BadRequestError("a service token has no user")
    return await service.get_user(db, user.user_id)


@router.get("/{user_id:int}", response_model=UserOut)
async def get_user(user_id: UserId, user: CurrentUser, db: DbSession) -> User:
    return await service.get_user(db, service.visible_user_id(user, user_id))


@router.put(
    "/{user_id:int}",
    response_model=UserOut,
    responses={409: {"description": "The email is registered to another account"}},
)
async def update_user(
    user_id: UserId, body: ProfileUpdate, user: CurrentUser, sessions: Sessions
) -> User:
    return await service.update_profile(sessions, service.visible_user_id(user, user_id), body)


@router.delete(
    "/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "The last active administrator: make another admin first"}},
)
async def delete_user(
    user_id: UserId, user: CurrentUser, sessions: Sessions, store: RefreshSessions
) -> None:
    await service.soft_delete(sessions, store, service.visible_user_id(user, user_id))


@router.put(
    "/{user_id:int}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {
            "description": "The current password does not match; or another user's password "
            "(admins reset through the reset flow)"
        },
    },
)
async def change_password(
    user_id: UserId,
    body: PasswordChangeIn,
    user: CurrentUser,
    sessions: Sessions,
    store: RefreshSessions,
) -> None:
    # Only the owner: knowing the current password is the point of this endpoint.
    if user.user_id != user_id:
        service.visible_user_id(user, user_id)  # 404 for others, as everywhere
        raise ForbiddenError("administrators reset passwords through the reset flow")
    await service.change_password(
        sessions, store, user_id, body.current_password, body.new_password
    )


@internal.get("/{user_id:int}", response_model=UserStatusOut)
async def user_status(user_id: UserId, caller: UsersReader, database: Statements) -> User:
    """For the order saga (is the buyer active?) and notifications (how to reach them)."""
    return await service.user_status(database, user_id)
