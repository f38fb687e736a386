"""The catalog's hot reads, a cached product, its price and a list page, as raw ASGI.

FastAPI's layers cost a cached read twice what the read itself does (ADR 0017). These reads
are answered here instead, from the cache as it stores them, with the bytes and headers the
routes in api.py send. Anything else goes to those routes (`fall_through`): a cache miss, a
Redis error, the product-catalog-failure flag, and any query this module does not parse
exactly as FastAPI would (the route then answers it, a 422 included). So a request answered
here is one the route would have answered the same way from the same cache.
"""

import re
from decimal import Decimal
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from cloudmart_common.fast_path import fall_through
from cloudmart_common.metrics import ROUTE_KEY
from cloudmart_products.api import (
    DEFAULT_PAGE_SIZE,
    MAX_CURSOR_LENGTH,
    MAX_PAGE_SIZE,
    MAX_PRICE,
    MAX_SEARCH_LENGTH,
)
from cloudmart_products.repository import Filters
from cloudmart_products.schemas import CATEGORY_QUERY_PATTERN
from cloudmart_products.service import Catalog

LIST_ROUTE = "/api/products"
PRODUCT_ROUTE = "/api/products/{product_id}"
PRICE_ROUTE = "/api/products/{product_id}/price"
_PRODUCT_PREFIX = "/api/products/"
_PRICE_SUFFIX = "/price"
# Ids of up to 18 digits fit an int64; longer ones (never issued) go to the route.
_MAX_ID_DIGITS = 18
_CATEGORY = re.compile(CATEGORY_QUERY_PATTERN)
# Plain decimals only; pydantic also takes `1e2`, ` 5`, `.5`, which the route parses.
_PRICE = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_JSON = (b"content-type", b"application/json")

ListQuery = tuple[Filters, int, str | None]


def claims(scope: Scope) -> bool:
    """A GET of the list, or of one product or its price by id without a query."""
    if scope["method"] != "GET" or scope.get("root_path"):
        return False
    path: str = scope["path"]
    return path == LIST_ROUTE or (
        path.startswith(_PRODUCT_PREFIX)
        and not scope["query_string"]
        and _product_id(_id_part(path)) is not None
    )


def _id_part(path: str) -> str:
    """The id of /api/products/{id} or of /api/products/{id}/price."""
    rest = path[len(_PRODUCT_PREFIX) :]
    return rest[: -len(_PRICE_SUFFIX)] if rest.endswith(_PRICE_SUFFIX) else rest


class FastReads:
    """Answers what `claims` accepted from the cache, or hands it to the FastAPI routes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app  # its state holds the catalog; its routes answer the rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        catalog: Catalog = self.app.state.catalog
        path: str = scope["path"]
        body: bytes | None = None
        if path == LIST_ROUTE:
            route = LIST_ROUTE
            query = _list_query(scope["query_string"])
            if query is not None:
                body = await catalog.cached_page_json(*query)
        elif path.endswith(_PRICE_SUFFIX):
            route = PRICE_ROUTE
            product_id = _product_id(_id_part(path))
            if product_id is not None:
                body = await catalog.cached_price_json(product_id)
        else:
            route = PRODUCT_ROUTE
            product_id = _product_id(_id_part(path))
            if product_id is not None:
                body = await catalog.cached_product_json(product_id)
        if body is None:
            await fall_through(self.app, scope, receive, send)
            return
        scope[ROUTE_KEY] = route
        # What Starlette's Response(body, media_type="application/json") sends, in its order.
        headers = [(b"content-length", str(len(body)).encode()), _JSON]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _product_id(text: str) -> int | None:
    # isdigit alone takes other scripts' digits (Arabic-Indic ones, say), which int() reads.
    if 0 < len(text) <= _MAX_ID_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def _list_query(query_string: bytes) -> ListQuery | None:
    """The list route's arguments, or None where FastAPI should judge the query.

    Accepted: each known parameter at most once, in a form pydantic parses to the same value
    within the route's bounds. Split and decoded as Starlette does (latin-1, `&`, blanks kept).
    """
    limit, cursor, category, text = DEFAULT_PAGE_SIZE, None, None, None
    min_price = max_price = None
    in_stock = False
    seen: set[str] = set()
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in seen:  # the route takes the last; rare enough to leave to it
            return None
        seen.add(name)
        if name == "limit":
            if not (value.isascii() and value.isdigit() and len(value) <= 3):
                return None
            limit = int(value)
            if not 1 <= limit <= MAX_PAGE_SIZE:
                return None
        elif name == "cursor":
            if not 0 < len(value) <= MAX_CURSOR_LENGTH:
                return None
            cursor = value
        elif name == "category":
            if _CATEGORY.fullmatch(value) is None:
                return None
            category = value.lower()  # as the route: a slug, whatever the case asked
        elif name in ("min_price", "max_price"):
            price = _price(value)
            if price is None:
                return None
            if name == "min_price":
                min_price = price
            else:
                max_price = price
        elif name == "in_stock":
            if value not in ("true", "false"):
                return None
            in_stock = value == "true"
        elif name == "q":
            if not 0 < len(value) <= MAX_SEARCH_LENGTH:
                return None
            text = value
        else:
            return None
    return Filters(category, min_price, max_price, in_stock, text), limit, cursor


def _price(value: str) -> Decimal | None:
    if _PRICE.fullmatch(value) is None:
        return None
    price = Decimal(value)
    return price if price <= MAX_PRICE else None
