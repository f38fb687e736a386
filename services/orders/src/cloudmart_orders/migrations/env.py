"""Alembic environment of the orders service: its settings' database, its tables."""

from cloudmart_common.db import CommonBase
from cloudmart_common.migrations import run_migrations
from cloudmart_orders.models import Base
from cloudmart_orders.settings import Settings

run_migrations(Settings().database_url.get_secret_value(), [Base.metadata, CommonBase.metadata])
