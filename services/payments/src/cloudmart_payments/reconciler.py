"""The background task settling what a crash or an outage left pending (see service.py)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cloudmart_payments.service import PaymentService

log = logging.getLogger(__name__)


@asynccontextmanager
async def running_reconciler(payments: PaymentService, interval: float) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                settled = await payments.reconcile()
            except Exception:
                # The next round tries again; a database outage must not end the task.
                log.exception("reconciliation round failed")
                continue
            if settled:
                log.warning("reconciliation settled %d payments/refunds", settled)

    task = asyncio.create_task(loop(), name="payments-reconciler")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
