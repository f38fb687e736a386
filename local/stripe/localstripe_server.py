"""localstripe bound to one address, its state kept in a file of ours.

usage: python localstripe_server.py HOST PORT STATE_FILE

localstripe's own CLI binds every interface and pickles its whole store to a fixed file in the
system temp dir after every change (slow, and shared between instances). Here it binds HOST
only, loads STATE_FILE at start and writes it once at shutdown, so `make down`/`make up` keeps
customers and payments, as real Stripe would. It also lets a publishable key create
PaymentMethods, as Stripe does for Stripe.js in the browser (localstripe only allows it for
tokens and sources). And it indexes the store by object type: localstripe lists a type by
scanning every object it holds, three times per charge it returns (its refunds), so each
payment cost more than the one before (138 ms of CPU per checkout after a few thousand
orders, ADR 0017). GPL-3.0: run as a tool, never imported by services.
"""

import asyncio
import logging
import pickle
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import server
from localstripe.resources import List, PaymentIntent, Store, StripeObject, UserError, store
from localstripe.server import app, json_response


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


# Stripe keeps an idempotency key's answer for 24 hours; here, the latest this many keys.
_IDEMPOTENT_ANSWERS = 10_000
_answers: dict[tuple[str, str, str], tuple[int, bytes, str]] = {}
_in_flight: dict[tuple[str, str, str], asyncio.Lock] = {}


@web.middleware
async def idempotent_posts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A POST repeated with its Idempotency-Key gets the first answer again, as from Stripe.

    localstripe ignores the header, so a retried `create` with `confirm` (the payments
    service's charge, retried after a timeout) would charge twice. Concurrent repeats wait
    for the first (Stripe answers them 409; waiting serves the same purpose here).
    """
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    slot = (request.headers.get("Authorization", ""), request.path, key)
    lock = _in_flight.setdefault(slot, asyncio.Lock())
    async with lock:
        answer = _answers.get(slot)
        if answer is None:
            response = await handler(request)
            if not isinstance(response, web.Response) or response.status >= 500:
                return response  # not kept: Stripe does not keep server errors either
            body = response.body if isinstance(response.body, bytes) else b""
            answer = (response.status, body, response.content_type)
            _answers[slot] = answer
            while len(_answers) > _IDEMPOTENT_ANSWERS:
                _answers.pop(next(iter(_answers)))
        _in_flight.pop(slot, None)
    status, body, content_type = answer
    return web.Response(status=status, body=body, content_type=content_type)


# The one form of Stripe's search query the payments service uses (its reconciler finds the
# PaymentIntent of a payment by metadata); localstripe has no search at all.
_METADATA_QUERY = re.compile(r"^metadata\['(\w+)'\]:'([^']*)'$")
_INTENT_SEARCH = "/v1/payment_intents/search"


@web.middleware
async def payment_intent_search(request: web.Request, handler: Handler) -> web.StreamResponse:
    """GET /v1/payment_intents/search?query=metadata['key']:'value', as Stripe answers it.

    A middleware, not a route: localstripe's `/v1/payment_intents/{id}` would take it first.
    """
    if request.method != "GET" or request.path != _INTENT_SEARCH:
        return await handler(request)
    matched = _METADATA_QUERY.match(request.query.get("query", ""))
    if matched is None:
        raise UserError(400, "only metadata['key']:'value' queries are supported here")
    key, value = matched.groups()
    found = [
        intent._export()
        for intent in _BY_TYPE.get(PaymentIntent.object, {}).values()
        if (getattr(intent, "metadata", None) or {}).get(key) == value
    ]
    limit = int(request.query.get("limit", "10"))
    return json_response(
        {
            "object": "search_result",
            "url": _INTENT_SEARCH,
            "data": found[:limit],
            "has_more": len(found) > limit,
            "next_page": None,
        }
    )


# Objects by type ("ch", "pi", "re"...: the part of the store key before the colon), each
# type's objects in the store's own order.
_BY_TYPE: dict[str, dict[str, Any]] = {}


def _type_of(key: str) -> str | None:
    kind, colon, _id = key.partition(":")
    return kind if colon else None


def _set(self: Store, key: str, value: Any) -> None:
    dict.__setitem__(self, key, value)
    kind = _type_of(key)
    if kind is not None:
        _BY_TYPE.setdefault(kind, {})[key] = value


def _delete(self: Store, key: str) -> None:
    dict.__delitem__(self, key)
    kind = _type_of(key)
    if kind is not None:
        _BY_TYPE.get(kind, {}).pop(key, None)


def _clear(self: Store) -> None:
    dict.clear(self)
    _BY_TYPE.clear()


def _update(self: Store, other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        _set(self, key, value)


def _list_all(
    cls: type[StripeObject],
    url: str,
    limit: int | None = None,
    starting_after: str | None = None,
    **kwargs: Any,
) -> List:
    """StripeObject._api_list_all from the index instead of a scan of the whole store."""
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs.keys()))
    listed = List(url, limit=limit, starting_after=starting_after)
    listed._list = list(_BY_TYPE.get(cls.object, {}).values())
    return listed


def _index_the_store() -> None:
    Store.__setitem__ = _set  # type: ignore[assignment]  # also: no dump to disk per change
    Store.__delitem__ = _delete  # type: ignore[assignment]
    Store.clear = _clear  # type: ignore[assignment]
    Store.update = _update  # type: ignore[assignment]
    StripeObject._api_list_all = classmethod(_list_all)  # type: ignore[assignment]
    _update(store, dict(store))


def main() -> None:
    host, port, state_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    Store.dump_to_disk = lambda self: None  # no rewrite of the whole store per change
    _index_the_store()
    position = app.middlewares.index(server.auth_middleware)
    app.middlewares[position] = auth_allowing_publishable_payment_methods
    app.middlewares.insert(position + 1, payment_intent_search)  # after authentication
    app.middlewares.insert(position + 1, idempotent_posts)
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
