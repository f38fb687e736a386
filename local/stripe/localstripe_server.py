"""localstripe bound to one address, its state kept in a file of ours.

usage: python localstripe_server.py HOST PORT STATE_FILE

localstripe's own CLI binds every interface and pickles its whole store to a fixed file in the
system temp dir after every change (slow, and shared between instances). Here it binds HOST
only, loads STATE_FILE at start and writes it once at shutdown, so `make down`/`make up` keeps
customers and payments, as real Stripe would. It also lets a publishable key create
PaymentMethods, as Stripe does for Stripe.js in the browser (localstripe only allows it for
tokens and sources). GPL-3.0: run as a tool, never imported by services.
"""

import logging
import pickle
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import server
from localstripe.resources import Store, store
from localstripe.server import app


@web.middleware
async def auth_allowing_publishable_payment_methods(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    if request.method == "POST" and request.path == "/v1/payment_methods":
        data = await server.get_post_data(request, remove_auth=False) or {}
        key = data.get("key")
        if isinstance(key, str) and key.startswith("pk_"):
            return await handler(request)
    return await server.auth_middleware(request, handler)


def main() -> None:
    host, port, state_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    Store.dump_to_disk = lambda self: None  # no rewrite of the whole store per change
    position = app.middlewares.index(server.auth_middleware)
    app.middlewares[position] = auth_allowing_publishable_payment_methods
    if state_file.exists():
        with state_file.open("rb") as state:
            store.update(pickle.load(state))  # noqa: S301 - our own file, written below

    async def save_state(_: web.Application) -> None:
        temporary = state_file.with_suffix(".tmp")
        with temporary.open("wb") as state:
            pickle.dump(dict(store), state, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(state_file)

    app.on_cleanup.append(save_state)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(
        app,
        host=host,
        port=port,
        print=lambda *_: print(f"localstripe on http://{host}:{port}", flush=True),
    )


if __name__ == "__main__":
    main()
