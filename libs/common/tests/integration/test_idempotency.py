"""Idempotency-Key: one result per key, replayed to retries; another body with the key is a 422."""

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmart_common.db import Database, session_factory
from cloudmart_common.idempotency import (
    IdempotencyStore,
    KeyReusedWithOtherRequest,
    StoredResponse,
)


async def test_twenty_concurrent_identical_requests_create_one_result(
    engine: AsyncEngine, widgets: Table
) -> None:
    sessions = session_factory(engine)
    store = IdempotencyStore(Database(engine))
    name = f"widget-{uuid.uuid4()}"
    body = {"name": name, "quantity": 2}
    runs = 0

    async def create_widget() -> StoredResponse:
        nonlocal runs
        runs += 1
        widget_id = random.randrange(2**30, 2**31)
        await asyncio.sleep(0.2)  # slow enough for every duplicate to arrive meanwhile
        async with sessions() as session, session.begin():
            await session.execute(insert(widgets).values(id=widget_id, name=name))
        return StoredResponse(201, {"id": widget_id, "name": name})

    results = await asyncio.gather(
        *(
            store.execute(
                scope="POST /widgets:user-1", key="key-1", request=body, operation=create_widget
            )
            for _ in range(20)
        )
    )
    async with engine.connect() as connection:
        rows = await connection.scalar(
            select(func.count()).select_from(widgets).where(widgets.c.name == name)
        )
    assert (runs, rows) == (1, 1)
    assert len({(r.status_code, r.body["id"]) for r, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 19


async def test_the_same_key_with_another_body_is_refused(engine: AsyncEngine) -> None:
    store = IdempotencyStore(Database(engine))

    async def operation() -> StoredResponse:
        return StoredResponse(201, {"ok": True})

    scope, key = "POST /widgets:user-2", str(uuid.uuid4())
    await store.execute(scope=scope, key=key, request={"a": 1}, operation=operation)
    with pytest.raises(KeyReusedWithOtherRequest):
        await store.execute(scope=scope, key=key, request={"a": 2}, operation=operation)


async def test_a_key_is_scoped_to_its_caller(engine: AsyncEngine) -> None:
    store = IdempotencyStore(Database(engine))
    calls: list[str] = []

    def operation_for(user: str) -> Callable[[], Awaitable[StoredResponse]]:
        async def run() -> StoredResponse:
            calls.append(user)
            return StoredResponse(201, {"user": user})

        return run

    key = str(uuid.uuid4())
    first, _ = await store.execute(
        scope="POST /w:alice", key=key, request={}, operation=operation_for("alice")
    )
    second, replayed = await store.execute(
        scope="POST /w:bob", key=key, request={}, operation=operation_for("bob")
    )
    assert (first.body, second.body, replayed) == ({"user": "alice"}, {"user": "bob"}, False)


async def test_a_failed_operation_releases_the_key_for_a_retry(engine: AsyncEngine) -> None:
    store = IdempotencyStore(Database(engine))
    attempts = 0

    async def flaky() -> StoredResponse:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("payments service unreachable")
        return StoredResponse(201, {"attempt": attempts})

    scope, key = "POST /widgets:user-3", str(uuid.uuid4())
    with pytest.raises(ConnectionError):
        await store.execute(scope=scope, key=key, request={}, operation=flaky)
    response, replayed = await store.execute(scope=scope, key=key, request={}, operation=flaky)
    assert (response.body, replayed) == ({"attempt": 2}, False)
