"""A service's hottest requests as a raw ASGI app beside its FastAPI app (ADR 0017).

FastAPI's layers (its error and body-limit middleware, exception handling, routing, the
request object, dependency solving, the response class) cost a cached read more CPU than
the read itself. A fast path skips them: `FastPathApp` sends the requests it claims to a raw
ASGI app wrapped in the same ObservedRequests (request id, sampled server span, RED metrics
named by `metrics.ROUTE_KEY`, last-resort 500), and everything else (lifespan, other
routes, probes, docs) to FastAPI. A fast path that cannot answer a request (a cache miss,
an odd query) hands it to FastAPI with `fall_through` before sending anything; the FastAPI
app's own ObservedRequests sees it is observed already and lets it pass, so the request still
has one id, one span and one count.
"""

from collections.abc import Callable

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send


class FastPathApp:
    """HTTP requests `claims` accepts go to `fast_path`; the rest to the FastAPI app.

    `claims` may leave what it found in the scope for the fast path (the gateway: the service
    a path names), so the path is read once.
    """

    def __init__(self, app: FastAPI, fast_path: ASGIApp, claims: Callable[[Scope], bool]) -> None:
        self.app = app
        self.fast_path = fast_path
        self.claims = claims

    @property
    def state(self) -> State:
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.claims(scope):
            await self.fast_path(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def fall_through(app: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the FastAPI route instead; called inside the fast path's ObservedRequests,
    before the fast path sent anything."""
    await app(scope, receive, send)
