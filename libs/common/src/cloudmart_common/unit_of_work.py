"""The unit of work: one command, one transaction, business rows and outbox events together."""

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common.outbox import OutboxMessage, outbox_row


class UnitOfWork:
    """One command, one transaction: business rows and outbox events commit together or not at all.

        async with UnitOfWork(sessions) as uow:
            uow.session.add(order)
            uow.publish(OutboxMessage(topic="orders", key=str(order.id), event=event))
            await uow.commit()

    Leaving the block without `commit()` (or with an exception) rolls everything back.
    `after_commit` runs once the transaction is durable (the outbox relay's wake-up call).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._after_commit = after_commit
        self._session: AsyncSession | None = None
        self._published = 0

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        await self._session.begin()
        return self

    def publish(self, message: OutboxMessage) -> None:
        """Stage an event; it is written in this transaction and published after commit."""
        self.session.add(outbox_row(message))
        self._published += 1

    async def commit(self) -> None:
        await self.session.commit()
        if self._published and self._after_commit is not None:
            self._after_commit()
        self._published = 0

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is not None and session.in_transaction():
                await session.rollback()
        finally:
            # close() also ends an uncommitted transaction (rolled back in the database) but,
            # unlike rollback(), leaves loaded objects readable for building the response.
            await session.close()
            self._session = None
