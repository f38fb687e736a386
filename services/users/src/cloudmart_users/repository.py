"""Every query of the users service."""

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudmart_common.db import Database, Statement, detached
from cloudmart_users.models import User

_LIVE_USER = Statement(
    select(*User.__table__.columns).where(
        User.id == bindparam("user_id"), User.deleted_at.is_(None)
    )
)


async def get(session: AsyncSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id, User.deleted_at.is_(None)))


async def lock_active_admins(session: AsyncSession) -> list[int]:
    """The ids of the active administrators, their rows locked until the transaction ends: two
    deletions of the last two admins then run one after the other, and the second sees the
    first's (PostgreSQL re-checks a locked row's condition once the lock is granted)."""
    ids = await session.scalars(
        select(User.id)
        .where(User.role == "admin", User.is_active.is_(True), User.deleted_at.is_(None))
        .order_by(User.id)
        .with_for_update()
    )
    return list(ids)


async def live_user(database: Database, user_id: int) -> User | None:
    """`get` for the hot path (other services asking), on the driver: a detached entity."""
    row = await database.fetchrow(_LIVE_USER, {"user_id": user_id})
    return None if row is None else detached(User, row)


async def get_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def exists(session: AsyncSession, username: str, email: str) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(or_(User.username == username, User.email == email.lower()))
    )
    return bool(found)
