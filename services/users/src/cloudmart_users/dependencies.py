"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_users.keys import KeyRing
from cloudmart_users.reset_tokens import ResetTokens
from cloudmart_users.sessions import SessionStore
from cloudmart_users.settings import Settings
from cloudmart_users.tokens import TokenIssuer


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _sessions(request)() as session:
        yield session


def _session_store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.session_store
    return store


def _reset_tokens(request: Request) -> ResetTokens:
    tokens: ResetTokens = request.app.state.reset_tokens
    return tokens


def _token_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer


def _key_ring(request: Request) -> KeyRing:
    keys: KeyRing = request.app.state.key_ring
    return keys


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _service_clients(request: Request) -> dict[str, str]:
    clients: dict[str, str] = request.app.state.service_clients
    return clients


def _wake_relay(request: Request) -> Callable[[], None]:
    # The relay's wake(): publish just-committed events now, not at the next poll.
    wake: Callable[[], None] = request.app.state.outbox_relay.wake
    return wake


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessions)]
DbSession = Annotated[AsyncSession, Depends(_session)]
RefreshSessions = Annotated[SessionStore, Depends(_session_store)]
Resets = Annotated[ResetTokens, Depends(_reset_tokens)]
Tokens = Annotated[TokenIssuer, Depends(_token_issuer)]
Keys = Annotated[KeyRing, Depends(_key_ring)]
UsersSettings = Annotated[Settings, Depends(_settings)]
ServiceClients = Annotated[dict[str, str], Depends(_service_clients)]
RelayWake = Annotated[Callable[[], None], Depends(_wake_relay)]
