"""Statements on the driver (db.Statement, db.Database): parameters, results and errors as the
session gives them, and a broken connection never handed out again."""

import random
import uuid

import pytest
from pydantic import SecretStr
from sqlalchemy import Integer, Table, bindparam, insert, literal, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cloudmart_common.db import Database, Statement
from cloudmart_common.problem_details import _is_dependency_outage
from cloudmart_common.settings import CommonSettings, DatabaseSettings, local_database_url
from cloudmart_common.stores import create_database_engine


async def test_named_parameters_literals_and_json_round_trip(engine: AsyncEngine) -> None:
    statement = Statement(
        select(
            bindparam("number", type_=JSONB).label("echoed"),
            literal("fixed").label("fixed"),
            (bindparam("a", type_=Integer) + bindparam("b", type_=Integer)).label("total"),
        )
    )
    row = await Database(engine).fetchrow(
        statement, {"number": {"n": [1, 2], "text": "é"}, "a": 2, "b": 3}
    )
    assert (row["echoed"], row["fixed"], row["total"]) == ({"n": [1, 2], "text": "é"}, "fixed", 5)


async def test_a_parameter_left_unbound_is_a_key_error(engine: AsyncEngine) -> None:
    statement = Statement(select(bindparam("a") + bindparam("b")))
    with pytest.raises(KeyError, match="b"):
        await Database(engine).fetchval(statement, {"a": 1})


async def test_each_statement_commits_on_its_own(engine: AsyncEngine, widgets: Table) -> None:
    widget_id, name = random.randrange(2**30, 2**31), f"w-{uuid.uuid4()}"
    database = Database(engine)
    add = Statement(insert(widgets).values(id=bindparam("id"), name=bindparam("name")))
    await database.fetch(add, {"id": widget_id, "name": name})
    async with engine.connect() as connection:  # another connection sees it
        found = await connection.scalar(select(widgets.c.name).where(widgets.c.id == widget_id))
    assert found == name


async def test_errors_come_out_as_sqlalchemy_raises_them(
    engine: AsyncEngine, widgets: Table
) -> None:
    widget_id = random.randrange(2**30, 2**31)
    database = Database(engine)
    add = Statement(insert(widgets).values(id=bindparam("id"), name=bindparam("name")))
    await database.fetch(add, {"id": widget_id, "name": "first"})
    with pytest.raises(sa_exc.IntegrityError) as duplicate:
        await database.fetch(add, {"id": widget_id, "name": "second"})
    assert not duplicate.value.connection_invalidated
    with pytest.raises(sa_exc.DBAPIError) as nul:  # the problem handlers' 422 case
        await database.fetch(add, {"id": widget_id + 1, "name": "a\x00b"})
    assert getattr(nul.value.orig, "sqlstate", None) == "22021"


async def test_a_connection_that_broke_is_invalidated_not_reused() -> None:
    # A pool of one (the shared fixture has none), through pgbouncer as the services are.
    engine = create_database_engine(CommonSettingsWithDatabase(database_pool_size=1))
    database = Database(engine)
    one = Statement(select(literal(1).label("one")))
    try:
        async with database.connection() as connection:
            pid = await connection._driver.fetchval("SELECT pg_backend_pid()")
        killer = create_async_engine(local_database_url("orders").get_secret_value())
        async with killer.connect() as other:
            await other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        await killer.dispose()
        with pytest.raises(sa_exc.DBAPIError) as broken:
            await database.fetchval(one)
        assert broken.value.connection_invalidated
        assert await database.fetchval(one) == 1  # a new connection, not the broken one
    finally:
        await engine.dispose()


class CommonSettingsWithDatabase(CommonSettings, DatabaseSettings):
    service_name: str = "common-tests"
    database_url: SecretStr = local_database_url("orders")


async def test_a_database_that_cannot_be_reached_is_an_outage_not_a_bug() -> None:
    # Nothing listens on port 1: the problem handlers must answer 503, as for the engine.
    engine = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/nothing")
    try:
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the class is what is checked
            await Database(engine).fetchval(Statement(select(literal(1))))
        assert _is_dependency_outage(refused.value)
    finally:
        await engine.dispose()
