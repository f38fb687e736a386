"""Readiness: all checks run at once under one deadline; only critical ones decide readiness."""

import asyncio
import time

from cloudmart_common.readiness import DependencyCheck, run_checks


async def _up() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("connection refused")


async def _hangs() -> None:
    await asyncio.sleep(60)


async def test_ready_when_every_check_is_up() -> None:
    report = await run_checks([DependencyCheck("a", _up), DependencyCheck("b", _up)], 1.0)
    assert report["status"] == "ready"
    assert {name: check["status"] for name, check in report["checks"].items()} == {
        "a": "up",
        "b": "up",
    }


async def test_a_critical_dependency_down_makes_the_service_not_ready() -> None:
    report = await run_checks([DependencyCheck("db", _down), DependencyCheck("b", _up)], 1.0)
    assert report["status"] == "not_ready"
    assert report["checks"]["db"] == {
        "status": "down",
        "critical": True,
        "latency_ms": report["checks"]["db"]["latency_ms"],
        "error": "ConnectionRefusedError: connection refused",
    }


async def test_a_non_critical_dependency_down_is_reported_but_keeps_the_service_ready() -> None:
    report = await run_checks(
        [DependencyCheck("db", _up), DependencyCheck("cache", _down, critical=False)], 1.0
    )
    assert report["status"] == "ready"
    assert report["checks"]["cache"]["status"] == "down"


async def test_hanging_checks_share_one_deadline() -> None:
    started = time.perf_counter()
    report = await run_checks([DependencyCheck("a", _hangs), DependencyCheck("b", _hangs)], 0.2)
    assert time.perf_counter() - started < 1.0
    assert report["checks"]["a"]["error"] == "no answer within 0.2 s"
    assert report["status"] == "not_ready"
