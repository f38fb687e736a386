"""`python -m cloudmart_users.bootstrap_admin`: make sure the first admin exists (run by make up).

Locally the account is `admin` / `admin-local-only` unless CLOUDMART_ADMIN_USERNAME and
CLOUDMART_ADMIN_PASSWORD say otherwise; in production an operator runs this once with real ones.
"""

import asyncio

from cloudmart_common.db import session_factory
from cloudmart_common.stores import create_database_engine
from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_users import repository
from cloudmart_users.models import User
from cloudmart_users.passwords import hash_password
from cloudmart_users.settings import Settings


async def ensure_admin(settings: Settings) -> str:
    engine = create_database_engine(settings)
    try:
        async with UnitOfWork(session_factory(engine)) as uow:
            user = await repository.get_by_username(uow.session, settings.admin_username)
            if user is not None:
                user.role, user.is_active, user.deleted_at = "admin", True, None
                outcome = "present"
            else:
                uow.session.add(
                    User(
                        username=settings.admin_username,
                        email=settings.admin_email,
                        password_hash=hash_password(settings.admin_password.get_secret_value()),
                        full_name="CloudMart administrator",
                        role="admin",
                    )
                )
                outcome = "created"
            await uow.commit()
        return outcome
    finally:
        await engine.dispose()


if __name__ == "__main__":
    settings = Settings()
    print(f"admin {settings.admin_username}: {asyncio.run(ensure_admin(settings))}")
