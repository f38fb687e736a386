"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common.db import Database
from cloudmart_common.outbox_relay import OutboxRelay
from cloudmart_common.service_app import from_state
from cloudmart_users.keys import KeyRing
from cloudmart_users.reset_tokens import ResetTokens
from cloudmart_users.sessions import SessionStore
from cloudmart_users.settings import Settings
from cloudmart_users.tokens import TokenIssuer


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for reads: each statement stands alone (autocommit); writes go through a
    UnitOfWork on `Sessions`."""
    async with request.app.state.read_sessions() as session:
        yield session


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(from_state("sessions"))]
DbSession = Annotated[AsyncSession, Depends(_session)]
Statements = Annotated[Database, Depends(from_state("database"))]
RefreshSessions = Annotated[SessionStore, Depends(from_state("session_store"))]
Resets = Annotated[ResetTokens, Depends(from_state("reset_tokens"))]
Tokens = Annotated[TokenIssuer, Depends(from_state("token_issuer"))]
Keys = Annotated[KeyRing, Depends(from_state("key_ring"))]
UsersSettings = Annotated[Settings, Depends(from_state("settings"))]
ServiceClients = Annotated[dict[str, str], Depends(from_state("service_clients"))]
# Its wake() publishes just-committed events now rather than at the next poll.
Relay = Annotated[OutboxRelay, Depends(from_state("outbox_relay"))]
