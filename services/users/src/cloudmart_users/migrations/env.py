"""Alembic environment of the users service: its settings' database, its tables."""

from cloudmart_common.db import CommonBase
from cloudmart_common.migrations import run_migrations
from cloudmart_users.models import Base
from cloudmart_users.settings import Settings

run_migrations(Settings().database_url.get_secret_value(), [Base.metadata, CommonBase.metadata])
