"""Readiness: named probes of a service's own dependencies, run concurrently under one deadline."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.client import AIOKafkaClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmart_common.kafka_connection import KafkaConnection

# Returns when the dependency answers (optionally with details worth showing), raises if not.
Probe = Callable[[], Awaitable[Mapping[str, Any] | None]]


@dataclass(frozen=True)
class DependencyCheck:
    """One dependency: a probe that returns when the dependency answers and raises otherwise.

    A non-critical dependency is reported but does not make the service unready: the service
    degrades without it (a cache, an outbox relay that catches up later).
    """

    name: str
    probe: Probe
    critical: bool = True


async def _timed(check: DependencyCheck, deadline_seconds: float) -> dict[str, Any]:
    started = time.perf_counter()
    error: str | None = None
    details: Mapping[str, Any] | None = None
    try:
        details = await asyncio.wait_for(check.probe(), deadline_seconds)
    except TimeoutError:
        error = f"no answer within {deadline_seconds:g} s"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        error = f"{type(exc).__name__}: {exc}"[:300]
    result: dict[str, Any] = {
        "status": "up" if error is None else "down",
        "critical": check.critical,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if error is not None:
        result["error"] = error
    for name, value in (details or {}).items():
        result.setdefault(name, value)
    return result


async def run_checks(checks: Sequence[DependencyCheck], deadline_seconds: float) -> dict[str, Any]:
    """Probe every dependency at once; ready only when all are up."""
    results = await asyncio.gather(*(_timed(check, deadline_seconds) for check in checks))
    by_name = {check.name: result for check, result in zip(checks, results, strict=True)}
    ready = all(
        result["status"] == "up"
        for check, result in zip(checks, results, strict=True)
        if check.critical
    )
    return {"status": "ready" if ready else "not_ready", "checks": by_name}


def postgres_check(engine: AsyncEngine) -> DependencyCheck:
    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return DependencyCheck("postgres", probe)


def redis_check(redis: "Redis", *, critical: bool = True) -> DependencyCheck:
    async def probe() -> None:
        await redis.ping()

    return DependencyCheck("redis", probe, critical)


def kafka_check(connection: KafkaConnection, *, critical: bool = True) -> DependencyCheck:
    # A fresh metadata round trip each time: a cached client would report a dead broker as up.
    async def probe() -> None:
        client = AIOKafkaClient(
            **connection.options(),
            request_timeout_ms=3000,
            connections_max_idle_ms=5000,
        )
        try:
            await client.bootstrap()
        finally:
            await client.close()

    return DependencyCheck("kafka", probe, critical)
