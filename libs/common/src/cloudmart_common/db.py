"""PostgreSQL for the services that own data: naming conventions, sessions, the unit of work."""

from typing import Annotated

from pydantic import Field
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

# A BIGINT primary key as an API takes it: a larger number is a 422, not a database error.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]

# Explicit, predictable constraint names: Alembic can then drop and alter them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """The MetaData a service's models and migrations share."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class CommonBase(DeclarativeBase):
    """Tables every data-owning service has (outbox, idempotency keys), in its own database.

    A service's Alembic env targets `[its own metadata, CommonBase.metadata]`.
    """

    metadata = service_metadata()


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: `column` takes one of `values` (statuses, steps)."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit, to build the response.
    return async_sessionmaker(engine, expire_on_commit=False)


def single_statement_sessions(
    sessions: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions on the same pool whose every statement commits on its own (autocommit).

    For work that is one statement (a read, a conditional UPDATE, an INSERT ... ON CONFLICT):
    the BEGIN and COMMIT around it were two more round trips through pgbouncer, each a
    measurable share of a checkout's CPU. Never for work whose statements must commit together.
    Switching a pooled connection to autocommit rolls back whatever a `connect` hook ran in
    the driver's implicit transaction (a `SET search_path`): only for engines without one.
    """
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine), "a session factory bound to an engine"
    return session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
