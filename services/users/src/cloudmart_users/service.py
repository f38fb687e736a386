"""The users domain: registration, login, profiles, passwords. No FastAPI in here."""

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common import sealed
from cloudmart_common.db import Database
from cloudmart_common.principal import Principal
from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_users import events, repository
from cloudmart_users.errors import (
    AlreadyRegistered,
    InvalidCredentials,
    InvalidResetToken,
    LastAdmin,
    RefreshRejected,
    UserNotFound,
    WeakPassword,
    WrongCurrentPassword,
)
from cloudmart_users.models import User
from cloudmart_users.passwords import hash_password, strength_problem, verify_password
from cloudmart_users.reset_tokens import ResetTokens
from cloudmart_users.schemas import ProfileUpdate, RegisterIn
from cloudmart_users.sessions import Session, SessionStore

log = logging.getLogger(__name__)


def _check_strength(password: str, username: str | None) -> None:
    problem = strength_problem(password, username=username)
    if problem is not None:
        raise WeakPassword(f"password {problem}", field="password")


async def register(sessions: async_sessionmaker[AsyncSession], data: RegisterIn) -> User:
    _check_strength(data.password, data.username)
    user = User(
        username=data.username,
        email=str(data.email).lower(),
        password_hash=await asyncio.to_thread(hash_password, data.password),
        full_name=data.full_name,
        phone=data.phone,
        address=data.address,
    )
    # One message for both clashes: an anonymous caller learns no more than that.
    clash = AlreadyRegistered("this username or email is already registered")
    async with UnitOfWork(sessions) as uow:
        if await repository.exists(uow.session, data.username, str(data.email)):
            raise clash
        uow.session.add(user)
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent registration won the race
            raise clash from exc
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = await repository.get_by_username(session, username)
    # verify_password runs the full hash even without a user: no timing hint of which failed.
    # argon2 off the event loop (it releases the GIL): a login storm must not stall the
    # service's other requests, the JWKS every service fetches at start among them.
    valid = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active or user.deleted_at is not None:
        raise InvalidCredentials("username or password is wrong")
    return user


def visible_user_id(principal: Principal, user_id: int) -> int:
    """A user reaches only their own record, an admin every record; others get a 404."""
    if principal.is_admin or principal.user_id == user_id:
        return user_id
    raise UserNotFound(f"no user {user_id}")


async def get_user(session: AsyncSession, user_id: int) -> User:
    return _found(await repository.get(session, user_id), user_id)


async def user_status(database: Database, user_id: int) -> User:
    return _found(await repository.live_user(database, user_id), user_id)


def _found(user: User | None, user_id: int) -> User:
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


async def update_profile(
    sessions: async_sessionmaker[AsyncSession], user_id: int, changes: ProfileUpdate
) -> User:
    async with UnitOfWork(sessions) as uow:
        user = await get_user(uow.session, user_id)
        values = changes.model_dump(exclude_unset=True)
        if "email" in values and values["email"] is not None:
            values["email"] = str(values["email"]).lower()
        for field, value in values.items():
            setattr(user, field, value)
        try:
            await uow.commit()
        except IntegrityError as exc:
            raise AlreadyRegistered("this email is already registered") from exc
        await uow.session.refresh(user)
    return user


async def soft_delete(
    sessions: async_sessionmaker[AsyncSession], store: SessionStore, user_id: int
) -> None:
    async with UnitOfWork(sessions) as uow:
        user = await get_user(uow.session, user_id)
        # Nobody could administer the shop afterwards (bootstrap_admin would be the only way
        # back): another account must be made admin first.
        if user.role == "admin" and await repository.lock_active_admins(uow.session) == [user_id]:
            raise LastAdmin(f"user {user_id} is the last active administrator")
        user.deleted_at = datetime.now(UTC)
        user.is_active = False
        await uow.commit()
    await store.close_all(user_id)


async def _set_password(uow: UnitOfWork, user: User, password: str) -> None:
    """Every way of setting a password: strength rule, fresh hash. Callers end the sessions."""
    _check_strength(password, user.username)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await uow.commit()


async def change_password(
    sessions: async_sessionmaker[AsyncSession],
    store: SessionStore,
    user_id: int,
    current: str,
    new: str,
) -> None:
    async with UnitOfWork(sessions) as uow:
        user = await get_user(uow.session, user_id)
        if not await asyncio.to_thread(verify_password, user.password_hash, current):
            raise WrongCurrentPassword("the current password does not match")
        await _set_password(uow, user, new)
    await store.close_all(user_id)


async def request_password_reset(
    sessions: async_sessionmaker[AsyncSession],
    tokens: ResetTokens,
    email: str,
    ttl_seconds: int,
    reset_token_key: SecretStr,
    after_commit: Callable[[], None] | None = None,
) -> None:
    """Publishes `password_reset_requested` when the user exists; the caller always gets 202."""
    async with UnitOfWork(sessions, after_commit=after_commit) as uow:
        user = await repository.get_by_email(uow.session, email)
        if user is None or not user.is_active or user.deleted_at is not None:
            return
        token = await tokens.issue(user.id)
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        # Sealed for notifications: the outbox, Kafka and the DLQ never hold the token.
        sealed_token = sealed.seal(reset_token_key, token)
        uow.publish(events.password_reset_requested(user, sealed_token, expires_at))
        await uow.commit()


async def confirm_password_reset(
    sessions: async_sessionmaker[AsyncSession],
    store: SessionStore,
    tokens: ResetTokens,
    token: str,
    new_password: str,
) -> None:
    user_id = await tokens.redeem(token)
    if user_id is None:
        raise InvalidResetToken("this reset link is invalid, used or expired")
    async with UnitOfWork(sessions) as uow:
        await _set_password(uow, await get_user(uow.session, user_id), new_password)
    await store.close_all(user_id)


async def refresh(store: SessionStore, refresh_token: str) -> Session:
    outcome, session = await store.rotate(refresh_token)
    if outcome == "reused":
        log.warning("refresh token reused: session revoked")
    if session is None:
        raise RefreshRejected("refresh token is invalid, expired or already used")
    return session


def load_service_clients(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    clients: dict[str, str] = json.loads(path.read_text())
    return clients


def authenticate_service(clients: dict[str, str], client_id: str, secret: str) -> str:
    expected = clients.get(client_id)
    # compare_digest against a dummy too: unknown ids take as long as wrong secrets.
    if not compare_digest((expected or "\0" * len(secret)).encode(), secret.encode()) or (
        expected is None
    ):
        raise InvalidCredentials("unknown client or wrong secret")
    return client_id
