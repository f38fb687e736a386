"""Background jobs a service runs every few seconds (reconciliation, saga recovery)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_periodic(
    name: str, interval_seconds: float, job: Callable[[], Awaitable[int]]
) -> AsyncIterator[None]:
    """Run `job` every `interval_seconds` while the block lasts; it returns how much it did.

    A failing round is logged and the next one tries again: a database outage must not end
    the task. Every replica runs its own loop, so jobs must be safe to run concurrently.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                done = await job()
            except Exception:
                log.exception("%s round failed", name)
                continue
            if done:
                log.warning("%s settled %d items", name, done)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
