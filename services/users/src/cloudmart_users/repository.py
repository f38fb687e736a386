"""Every query of the users service."""

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudmart_users.models import User


async def get(session: AsyncSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id, User.deleted_at.is_(None)))


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
