"""PostgreSQL for the services that own data: naming conventions, sessions, the unit of work,
and statements of the hot path run on the driver itself."""

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import Field
from sqlalchemy import JSON, MetaData
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from cloudmart_common.tracing import end_failed_span, sql_span

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


class Statement:
    """A Core statement compiled once for asyncpg, run by `Database` on the driver itself.

    Through a session, or even a Core connection, every execution computes the statement's
    cache key, looks it up, runs the ORM's or the engine's event and result machinery and, for
    a session, builds and tears down a unit of work: more CPU than asyncpg spends on the
    statement, and a third of the orders and payments services' CPU per checkout (ADR 0017).
    Statements stay built with SQLAlchemy, so the models remain the one source of names.

    Parameters are bound by name; JSON ones are serialised here (the pool's connections carry
    SQLAlchemy's codecs: JSON goes in as text and comes out decoded).
    """

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup or ())
        binds = {compiled.bind_names[bind]: bind for bind in compiled.bind_names}
        # Literals the statement was built with (`status == "pending"`) travel as parameters.
        self._fixed = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        self._json = frozenset(name for name, bind in binds.items() if isinstance(bind.type, JSON))

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `parameters`; a KeyError names one left unbound."""
        values = []
        for name in self._names:
            value = parameters[name] if name in parameters else self._fixed[name]
            if name in self._json and value is not None:
                value = json.dumps(value, separators=(",", ":"))
            values.append(value)
        return values


_DIALECT = asyncpg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]

Entity = TypeVar("Entity", bound=DeclarativeBase)


def detached(model: type[Entity], row: Any) -> Entity:
    """A row of `model`'s table that `Database` returned, as the entity (detached, like one a
    closed session left): every column of the table must be in the row."""
    return model(**{name: row[name] for name in _column_keys(model)})


@cache
def _column_keys(model: type[DeclarativeBase]) -> tuple[str, ...]:
    return tuple(column.key for column in model.__table__.columns)


class Database:
    """Runs `Statement`s on asyncpg, on connections of the engine's own pool.

    Each statement commits on its own (no BEGIN): only for work that is one statement. Errors
    come out as SQLAlchemy's (IntegrityError, OperationalError with `connection_invalidated`),
    so callers and the problem handlers treat them as they treat the session's; a connection
    that broke is invalidated, not handed to the next caller. A statement inside a recorded
    trace gets its client span, as through the engine.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._pool = engine.sync_engine.pool
        self._dialect = engine.sync_engine.dialect
        self._dbapi_error = self._dialect.loaded_dbapi.Error
        self._name = engine.url.database

    async def fetch(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> list[Any]:
        async with self.connection() as connection:
            return await connection.fetch(statement, parameters)

    async def fetchrow(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> Any:
        """The first row (an asyncpg Record, by column name or position), None if none."""
        async with self.connection() as connection:
            return await connection.fetchrow(statement, parameters)

    async def fetchval(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> Any:
        async with self.connection() as connection:
            return await connection.fetchval(statement, parameters)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator["DriverConnection"]:
        """One pooled connection for several statements in a row (each still on its own).

        Straight from the pool: an engine Connection around it (made, started, closed per
        use) cost as much CPU as the statement it lent the connection for.
        """
        try:
            pooled = await greenlet_spawn(self._pool.connect)  # runs the checkout hooks
        except self._dbapi_error as error:  # as Engine.connect reports it
            raise sa_exc.DBAPIError.instance(
                None, None, error, self._dbapi_error, dialect=self._dialect
            ) from error
        try:
            # Statements here would join it, and the pool's rollback on check-in undo them.
            adapter = pooled.dbapi_connection
            assert getattr(adapter, "_transaction", None) is None, "open transaction"
            yield DriverConnection(pooled, self)
        finally:
            await greenlet_spawn(pooled.close)  # back to the pool, unless invalidated

    async def _failed(self, pooled: Any, statement: Statement, error: Exception) -> Exception:
        adapter = pooled.dbapi_connection
        try:
            adapter._handle_exception(error)  # asyncpg's class -> DB-API's
        except Exception as translated:
            error = translated
        broken = self._dialect.is_disconnect(error, adapter, None) or (  # type: ignore[arg-type]
            isinstance(error, OSError | TimeoutError) and not isinstance(error, self._dbapi_error)
        )
        if broken:
            await greenlet_spawn(pooled.invalidate, error)
        if not isinstance(error, self._dbapi_error):
            return error
        return sa_exc.DBAPIError.instance(
            statement.sql,
            None,
            error,
            self._dbapi_error,
            connection_invalidated=broken,
            dialect=self._dialect,
        )


class DriverConnection:
    """A pooled connection's asyncpg side, lent by `Database.connection`."""

    def __init__(self, pooled: Any, database: Database) -> None:
        self._pooled = pooled
        self._driver = pooled.dbapi_connection.driver_connection
        self._database = database

    async def fetch(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> list[Any]:
        return list(await self._run("fetch", statement, parameters))

    async def fetchrow(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> Any:
        return await self._run("fetchrow", statement, parameters)

    async def fetchval(self, statement: Statement, parameters: Mapping[str, Any] = {}) -> Any:
        return await self._run("fetchval", statement, parameters)

    async def _run(self, method: str, statement: Statement, parameters: Mapping[str, Any]) -> Any:
        arguments: Sequence[Any] = statement.arguments(parameters)
        span = sql_span(self._database._name, statement.sql)
        try:
            result = await getattr(self._driver, method)(statement.sql, *arguments)
        except Exception as error:
            if span is not None:
                end_failed_span(span, error)
            failure = await self._database._failed(self._pooled, statement, error)
            raise failure from error
        if span is not None:
            span.end()
        return result
