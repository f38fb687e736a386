"""Composition root of the users service: pools, keys and stores opened in the lifespan."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.db import Database, session_factory, single_statement_sessions
from cloudmart_common.jwks import LEEWAY_SECONDS
from cloudmart_common.outbox_relay import running_relay
from cloudmart_common.readiness import DependencyCheck, postgres_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_database_engine, create_redis
from cloudmart_users.api import internal, router
from cloudmart_users.keys import KeyRing
from cloudmart_users.reset_tokens import ResetTokens
from cloudmart_users.service import load_service_clients
from cloudmart_users.sessions import SessionStore
from cloudmart_users.settings import Settings
from cloudmart_users.tokens import TokenIssuer


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    key_ring = KeyRing.load(settings.jwt_signing_keys_dir)

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        engine = create_database_engine(settings)
        redis = create_redis(settings)
        app.state.sessions = session_factory(engine)
        # What routes read through DbSession: each a single SELECT, so no BEGIN/ROLLBACK
        # round trips around it (and no transaction held open while a login hashes).
        app.state.read_sessions = single_statement_sessions(app.state.sessions)
        # The hot path's statements (another service asking for a user), on the driver.
        app.state.database = Database(engine)
        app.state.session_store = SessionStore(
            redis,
            settings.refresh_token_seconds,
            # As long as an access token of the session is accepted anywhere.
            revoked_seconds=settings.access_token_seconds + LEEWAY_SECONDS,
        )
        app.state.reset_tokens = ResetTokens(redis, settings.password_reset_seconds)
        app.state.key_ring = key_ring
        app.state.token_issuer = TokenIssuer(key_ring, settings)
        app.state.service_clients = load_service_clients(settings.service_clients_file)
        try:
            async with running_relay(engine, settings) as relay:
                app.state.outbox_relay = relay
                # Sessions live in Redis: without it nobody can log in, so both are critical.
                yield [postgres_check(engine), redis_check(redis)]
        finally:
            await engine.dispose()
            await redis.aclose()

    return create_service_app(
        title="CloudMart users service",
        settings=settings,
        resources=resources,
        routers=[router, internal],
    )
