"""What every part of the payments service shares: its stores, Stripe, settings, flags."""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common.db import Database, single_statement_sessions
from cloudmart_common.fault_flags import NO_FAULTS, FaultFlags
from cloudmart_payments.settings import Settings
from cloudmart_payments.stripe_gateway import StripeGateway


class ServiceBase:
    """The stores and clients the charges, refunds, cards and webhooks parts work with."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        database: Database,
        stripe: StripeGateway,
        settings: Settings,
        *,
        after_commit: Callable[[], None] | None = None,
        faults: FaultFlags = NO_FAULTS,
    ) -> None:
        self._sessions = sessions
        # Reads and one-statement writes: no BEGIN/COMMIT round trips around them.
        self._statements = single_statement_sessions(sessions)
        # The charge's statements, on the driver (db.Statement).
        self._database = database
        self._stripe = stripe
        self._settings = settings
        self._after_commit = after_commit
        self._faults = faults
