"""The dashboard's handling of results, without a stack: kept by ResultStore (on an in-memory
stand-in for the few Redis commands it sends), added up by the summary, served by the routes and
pushed on the stream."""

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from cloudmart_common.auth import optional_user
from cloudmart_common.events import InvalidEvent, new_event, validate_event
from cloudmart_common.principal import Principal, Role
from cloudmart_common.readiness import DependencyCheck
from cloudmart_common.service_app import create_service_app
from cloudmart_dashboard.api import router, stream
from cloudmart_dashboard.repository import LIVE, TRENDING, TRENDING_INDEX, ResultStore
from cloudmart_dashboard.service import summarise
from cloudmart_dashboard.settings import Settings


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class FakeRedis:
    """Hashes, sorted sets, lists, counters and pub/sub, as far as the dashboard uses them;
    answers in bytes, as redis-py does."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, str]] = defaultdict(dict)
        self.zsets: dict[str, dict[str, float]] = defaultdict(dict)
        self.lists: dict[str, list[str]] = defaultdict(list)
        self.counters: dict[str, int] = defaultdict(int)
        self.published: list[tuple[str, str]] = []

    def pipeline(self, transaction: bool = True) -> "FakePipeline":
        return FakePipeline(self)

    def pubsub(self) -> "FakePubSub":
        return FakePubSub(self)

    def _sorted(self, key: str) -> list[str]:
        return sorted(self.zsets[key], key=lambda member: (self.zsets[key][member], member))

    async def zcard(self, key: str) -> int:
        return len(self.zsets[key])

    async def zrange(self, key: str, start: int, end: int) -> list[bytes]:
        return [m.encode() for m in self._sorted(key)[start : end + 1]]

    async def zrevrange(self, key: str, start: int, end: int) -> list[bytes]:
        return [m.encode() for m in self._sorted(key)[::-1][start : end + 1]]

    async def zrevrangebyscore(
        self, key: str, top: float | str, bottom: str, start: int = 0, num: int = 0
    ) -> list[bytes]:
        assert bottom == "-inf"
        limit = str(top)
        if limit == "+inf":
            below = [m for m in self._sorted(key)]
        else:
            bound = float(limit.removeprefix("("))
            below = [m for m in self._sorted(key) if self.zsets[key][m] < bound]
        return [m.encode() for m in below[::-1][start : start + num]]

    async def hmget(self, key: str, fields: Sequence[str]) -> list[bytes | None]:
        found = [self.hashes[key].get(field) for field in fields]
        return [None if value is None else value.encode() for value in found]

    async def hget(self, key: str, field: str | bytes) -> bytes | None:
        value = self.hashes[key].get(_text(field))
        return None if value is None else value.encode()

    async def lrange(self, key: str, start: int, end: int) -> list[bytes]:
        return [item.encode() for item in self.lists[key][start : end + 1]]

    async def get(self, key: str) -> bytes | None:
        return str(self.counters[key]).encode() if key in self.counters else None


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis
        self._commands: list[Callable[[], None]] = []

    async def __aenter__(self) -> "FakePipeline":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._commands.clear()

    def hset(self, key: str, field: str, value: str) -> None:
        self._commands.append(lambda: self._redis.hashes[key].__setitem__(field, value))

    def hdel(self, key: str, *fields: str | bytes) -> None:
        names = [_text(field) for field in fields]

        def delete() -> None:
            for name in names:
                self._redis.hashes[key].pop(name, None)

        self._commands.append(delete)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self._commands.append(lambda: self._redis.zsets[key].update(mapping))

    def zrem(self, key: str, *members: str | bytes) -> None:
        names = [_text(member) for member in members]

        def remove() -> None:
            for name in names:
                self._redis.zsets[key].pop(name, None)

        self._commands.append(remove)

    def lpush(self, key: str, value: str) -> None:
        self._commands.append(lambda: self._redis.lists[key].insert(0, value))

    def ltrim(self, key: str, start: int, end: int) -> None:
        def trim() -> None:
            self._redis.lists[key] = self._redis.lists[key][start : end + 1]

        self._commands.append(trim)

    def incr(self, key: str) -> None:
        self._commands.append(
            lambda: self._redis.counters.__setitem__(key, self._redis.counters[key] + 1)
        )

    def publish(self, channel: str, message: str) -> None:
        self._commands.append(lambda: self._redis.published.append((channel, message)))

    async def execute(self) -> None:
        for command in self._commands:
            command()
        self._commands.clear()


class FakePubSub:
    """Hands out, on the subscribed channel, what was published before the stream read it."""

    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis
        self._read = 0
        self.channel: str | None = None

    async def subscribe(self, channel: str) -> None:
        self.channel = channel

    async def unsubscribe(self, channel: str) -> None:
        self.channel = None

    async def aclose(self) -> None:
        pass

    # redis-py's signature, which the stream calls.
    async def get_message(
        self,
        ignore_subscribe_messages: bool,
        timeout: float,  # noqa: ASYNC109
    ) -> dict[str, Any] | None:
        mine = [text for channel, text in self._redis.published if channel == self.channel]
        if self._read >= len(mine):
            return None
        self._read += 1
        return {"type": "message", "data": mine[self._read - 1].encode()}


def _window(start: str, end: str, **figures: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "result_type": "window",
        "window_start": start,
        "window_end": end,
        "order_count": 0,
        "gross_order_value": 0.0,
        "paid_order_count": 0,
        "revenue": 0.0,
        "refunded_order_count": 0,
        "refunds": 0.0,
        "avg_order_value": 0.0,
        "top_products": [],
        "by_region": {},
        "anomalies": [],
    }
    # new_event validates: every sample here fits the event's version 2 schema.
    return new_event("analytics_window", body | figures, version=2)


def _trending(start: str, end: str, *names: str) -> dict[str, Any]:
    products = [
        {
            "rank": rank,
            "product_id": rank,
            "product_name": name,
            "quantity": 10 - rank,
            "revenue": 10.0 * (10 - rank),
        }
        for rank, name in enumerate(names, start=1)
    ]
    return new_event(
        "trending_products",
        {
            "result_type": "trending_products",
            "window_start": start,
            "window_end": end,
            "window_seconds": 900,
            "slide_seconds": 300,
            "products": products,
        },
    )


def test_the_sample_results_fit_their_event_schemas() -> None:
    window = _window(
        "2026-01-01T10:00:00Z",
        "2026-01-01T10:05:00Z",
        revenue=-40.0,  # refunds of earlier windows' orders outweigh the payments
        refunds=40.0,
        refunded_order_count=1,
        by_region={"eu-west": {"order_count": 0, "gross_order_value": 0.0, "revenue": -40.0}},
    )
    validate_event(window, require_schema=True)
    trending = _trending("2026-01-01T09:50:00Z", "2026-01-01T10:05:00Z", "Lamp")
    validate_event(trending, require_schema=True)
    # A version 1 window (revenue then the gross) still fits, as retained ones must; below
    # zero it fits neither version.
    v1 = {k: v for k, v in window.items() if k not in ("gross_order_value", "paid_order_count")}
    validate_event(v1 | {"event_version": 1, "revenue": 40.0, "by_region": {}}, require_schema=True)
    with pytest.raises(InvalidEvent):
        validate_event(v1 | {"event_version": 1}, require_schema=True)
    with pytest.raises(InvalidEvent):
        validate_event({**trending, "products": [{"rank": 1, "product_id": 1}]})


async def test_the_latest_trending_window_is_kept_whatever_the_order_of_arrival() -> None:
    redis = FakeRedis()
    store = ResultStore(cast(Redis, redis), windows_kept=10)
    assert await store.trending() is None

    for start, end, name in [
        ("2026-01-01T09:50:00Z", "2026-01-01T10:05:00Z", "Lamp"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:15:00Z", "Desk"),
        ("2026-01-01T09:55:00Z", "2026-01-01T10:10:00Z", "Mug"),  # through a slower partition
    ]:
        await store.add(_trending(start, end, name))

    latest = await store.trending()
    assert latest is not None
    assert (latest["window_end"], latest["products"][0]["product_name"]) == (
        "2026-01-01T10:15:00Z",
        "Desk",
    )
    assert list(redis.zsets[TRENDING_INDEX]) == ["2026-01-01T10:15:00Z"]
    assert list(redis.hashes[TRENDING]) == ["2026-01-01T10:15:00Z"]
    # Each one was announced all the same, and no window was touched.
    kinds = [json.loads(text)["event_type"] for channel, text in redis.published if channel == LIVE]
    assert kinds == ["trending_products"] * 3
    assert await store.windows(10, None) == []


async def test_windows_are_still_kept_newest_first_and_trimmed() -> None:
    redis = FakeRedis()
    store = ResultStore(cast(Redis, redis), windows_kept=2)
    for minute in range(3):
        start, end = f"2026-01-01T10:0{minute}:00Z", f"2026-01-01T10:0{minute + 1}:00Z"
        await store.add(_window(start, end, order_count=minute))
    await store.add(_trending("2026-01-01T09:58:00Z", "2026-01-01T10:01:00Z", "Lamp"))

    kept = await store.windows(10, None)
    assert [w["order_count"] for w in kept] == [2, 1]
    assert await store.trending() is not None


def test_the_summary_adds_money_taken_and_gross_apart() -> None:
    windows = [
        _window(
            "2026-01-01T10:05:00Z",
            "2026-01-01T10:10:00Z",
            order_count=3,
            gross_order_value=90.0,
            paid_order_count=1,
            revenue=-20.0,  # 30 paid, 50 refunded of an earlier window's order
            refunded_order_count=1,
            refunds=50.0,
            cancellations=3,
            by_region={"eu": {"order_count": 3, "gross_order_value": 90.0, "revenue": -20.0}},
        ),
        _window(
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:05:00Z",
            order_count=10,
            gross_order_value=550.0,
            paid_order_count=8,
            revenue=280.0,  # 360 paid, 80 refunded
            refunded_order_count=1,
            refunds=80.0,
            cancellations=3,
            top_products=[
                {"product_id": 2, "product_name": "Desk", "quantity": 3, "revenue": 120.0}
            ],
            by_region={"eu": {"order_count": 10, "gross_order_value": 550.0, "revenue": 280.0}},
        ),
    ]

    summary = summarise(windows, [], 0)

    assert (summary["order_count"], summary["gross_order_value"]) == (13, 640.0)
    assert (summary["paid_order_count"], summary["revenue"], summary["refunds"]) == (
        9,
        260.0,
        130.0,
    )
    assert summary["avg_order_value"] == 43.33  # (30 + 360) / 9: the average paid order
    assert summary["cancellations"] == 6
    assert summary["by_region"] == {
        "eu": {"order_count": 13, "gross_order_value": 640.0, "revenue": 260.0}
    }
    assert summary["top_products"][0]["product_name"] == "Desk"
    assert summary["from"] == "2026-01-01T10:00:00Z"


def test_a_summary_of_version_1_windows_counts_what_they_lack_as_zero() -> None:
    old = _window("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z", order_count=2, revenue=25.0)
    for lacking in ("gross_order_value", "paid_order_count", "refunds", "refunded_order_count"):
        old.pop(lacking)

    summary = summarise([old], [], 0)

    assert (summary["gross_order_value"], summary["paid_order_count"]) == (0.0, 0)
    assert (summary["revenue"], summary["avg_order_value"]) == (25.0, 0.0)


@asynccontextmanager
async def _client(store: ResultStore, role: Role = "admin") -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        app.state.results = store
        yield []

    app = create_service_app(
        title="dashboard", settings=Settings(), resources=resources, routers=[router]
    )

    async def caller() -> Principal:
        return Principal("1", role, "token", {})

    app.dependency_overrides[optional_user] = caller
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as http:
            yield http


async def test_the_trending_route_serves_the_latest_to_admins_only() -> None:
    store = ResultStore(cast(Redis, FakeRedis()), windows_kept=10)
    async with _client(store) as http:
        none_yet = await http.get("/api/analytics/trending")
        assert none_yet.status_code == 404
        assert none_yet.headers["content-type"] == "application/problem+json"

        await store.add(_trending("2026-01-01T09:50:00Z", "2026-01-01T10:05:00Z", "Lamp", "Desk"))
        served = await http.get("/api/analytics/trending")

    assert served.status_code == 200
    body = served.json()
    assert [p["product_name"] for p in body["products"]] == ["Lamp", "Desk"]
    assert (body["window_seconds"], body["slide_seconds"]) == (900, 300)
    async with _client(store, role="customer") as http:
        assert (await http.get("/api/analytics/trending")).status_code == 403


async def test_the_stream_pushes_a_trending_result_as_its_own_event_type() -> None:
    redis = FakeRedis()
    store = ResultStore(cast(Redis, redis), windows_kept=10)
    await store.add(_trending("2026-01-01T09:50:00Z", "2026-01-01T10:05:00Z", "Lamp"))
    await store.add(_window("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"))
    checks = iter([False, False, False, True])

    async def is_disconnected() -> bool:
        return next(checks)

    request = SimpleNamespace(
        app=SimpleNamespace(
            state=SimpleNamespace(
                redis=redis, settings=SimpleNamespace(stream_heartbeat_seconds=0.01)
            )
        ),
        is_disconnected=is_disconnected,
    )
    admin = Principal("1", "admin", "token", {})

    response = await stream(request, admin)  # type: ignore[arg-type]
    chunks = [
        chunk.decode() if isinstance(chunk, bytes) else str(chunk)
        async for chunk in response.body_iterator
    ]

    assert chunks[0] == ": connected\n\n"
    assert chunks[1].startswith("event: trending_products\ndata: {")
    assert json.loads(chunks[1].split("data: ", 1)[1])["products"][0]["product_name"] == "Lamp"
    assert chunks[2].startswith("event: analytics_window\n")
    assert chunks[3] == ": heartbeat\n\n"
