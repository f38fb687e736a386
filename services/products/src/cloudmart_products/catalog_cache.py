"""The catalog's Redis cache: products as public JSON, list pages as id lists, one generation.

Keys: `product:<id>` holds a product's public JSON; `product-page:<generation>:<digest>` a
page's ids and next cursor; `product-catalog:generation` the number every write that can
change which products a listing holds (create, update, delete, import, stock crossing zero)
bumps, so pages cached before it are never reached again. A sale only drops the entries of
the products it sold, and a page takes its products from their entries, so its stock is the
product page's. A product read is one GET, or none when the process holds a copy of the
entry (`TrackedCopies`, invalidated by Redis itself); a page read is one Lua script
(generation, page, MGET of its products); a Redis failure costs a DynamoDB read, never an
error. The catalog import invalidates through `invalidate` here, never with keys of its own.

The race of a fill with a write is closed, not shortened. A page is stored under the
generation read before it was listed, so a bump in between makes it unreachable. A product
is filled only while `product-fill:<id>`, the lease its reader took when it missed (before
reading DynamoDB, consistently), still holds that reader's token; a write's invalidation
deletes the lease with the entry. A short TTL or a delayed second delete would only narrow
the window (a DynamoDB read may take seconds under retries) and cost misses on every read
path; the lease costs one SET, on a miss only.
"""

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cloudmart_common.cache import CACHE_LOOKUPS
from cloudmart_common.tracked_copies import TrackedCopies
from cloudmart_products.cache_scripts import (
    FILL,
    INVALIDATE,
    ITEM_PREFIX,
    LEASE_MILLISECONDS,
    LEASE_PREFIX,
    PAGE_PREFIX,
    PRICE_PREFIX,
    READ,
)

log = logging.getLogger(__name__)

# After a Redis error the cache-only reads (`cached_product`, `cached_page`) stop asking for
# this long: the read-through that follows each of them tries Redis anyway, and an outage
# should cost a read one wait for Redis, not two.
CACHE_ONLY_PAUSE_SECONDS = 1.0

_ITEM_HIT = CACHE_LOOKUPS.labels("product", "hit")
_ITEM_MISS = CACHE_LOOKUPS.labels("product", "miss")
_ITEM_ERROR = CACHE_LOOKUPS.labels("product", "error")
_PRICE_HIT = CACHE_LOOKUPS.labels("product-price", "hit")
_PRICE_MISS = CACHE_LOOKUPS.labels("product-price", "miss")
_PAGE_HIT = CACHE_LOOKUPS.labels("product-page", "hit")
_PAGE_MISS = CACHE_LOOKUPS.labels("product-page", "miss")
_PAGE_ERROR = CACHE_LOOKUPS.labels("product-page", "error")
GENERATION_BUMPS = Counter(
    "catalog_generation_bumps_total", "Writes that made every cached product list unreachable"
)


def page_digest(
    *,
    limit: int,
    cursor: str | None,
    category: str | None,
    min_price: Decimal | None,
    max_price: Decimal | None,
    in_stock: bool,
    text: str | None,
) -> str:
    """One key per distinct listing: 20 and 20.00, or `Lamp` and `lamp`, share a page."""
    normalized = [
        limit,
        cursor,
        category,
        None if min_price is None else str(min_price.normalize()),
        None if max_price is None else str(max_price.normalize()),
        in_stock,
        None if text is None else text.lower(),  # the search itself is case-insensitive
    ]
    return hashlib.blake2b(json.dumps(normalized).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class CachedItems:
    found: dict[int, bytes]
    token: str  # holds the leases of the missing products: pass it to `fill`


@dataclass(frozen=True)
class CachedPage:
    generation: str  # read before any load: store a page loaded now under this one
    ids: list[int] | None  # None: the page is not cached
    next_cursor: str | None
    items: CachedItems
    body: bytes | None = None  # the page's JSON, when it and all its products are cached


async def invalidate(
    redis: "Redis", product_ids: Iterable[int], *, listings: bool, stock_only: bool = False
) -> None:
    """After a write to DynamoDB, never before: drops the products' entries and leases (and
    their prices, unless the write changed `stock_only`), and with `listings` bumps the
    generation. If Redis is down, the TTLs bound the staleness."""
    await _invalidate_keys(
        redis, _entry_keys(product_ids, stock_only=stock_only), listings=listings
    )


def _entry_keys(product_ids: Iterable[int], *, stock_only: bool) -> list[str]:
    """What a write of these products makes stale: their entries and leases, and their
    prices unless it changed stock only."""
    prefixes = _STOCK_PREFIXES if stock_only else _ENTRY_PREFIXES
    return [f"{prefix}{product_id}" for product_id in product_ids for prefix in prefixes]


async def _invalidate_keys(redis: "Redis", keys: list[str], *, listings: bool) -> None:
    if not keys and not listings:
        return
    try:
        await redis.register_script(INVALIDATE)(args=["1" if listings else "", *keys])
    except RedisError as exc:
        log.warning("catalog cache not invalidated (%s); entries expire on their own", exc)
        return
    if listings:
        GENERATION_BUMPS.inc()


_STOCK_PREFIXES = (ITEM_PREFIX, LEASE_PREFIX)
_ENTRY_PREFIXES = (*_STOCK_PREFIXES, PRICE_PREFIX)


async def forget_catalog(redis: "Redis") -> None:
    """Everything cached of a catalog that was replaced as a whole (ids start again)."""
    stale = [
        key for prefix in _ENTRY_PREFIXES async for key in redis.scan_iter(f"{prefix}*", count=500)
    ]
    if stale:
        await redis.delete(*stale)
    await invalidate(redis, [], listings=True)


# The entries a process may keep copies of (`TrackedCopies`): what cache-only reads GET.
COPIED_PREFIXES = (ITEM_PREFIX, PRICE_PREFIX)


class CatalogCache:
    def __init__(
        self,
        redis: "Redis",
        item_ttl_seconds: int,
        page_ttl_seconds: int,
        copies: TrackedCopies | None = None,
    ) -> None:
        self._redis = redis
        self._copies = copies
        self._item_ttl = str(item_ttl_seconds)
        self._page_ttl = page_ttl_seconds
        self._read = redis.register_script(READ)
        self._fill = redis.register_script(FILL)
        self._cache_only_paused_until = 0.0

    async def product(self, product_id: int) -> CachedItems | None:
        """`items` of one product: a plain GET, the cheapest read; a lease only on a miss."""
        key = f"{ITEM_PREFIX}{product_id}"
        try:
            value = await self._redis.get(key)
            if value is not None:
                _ITEM_HIT.inc()
                # The client does not decode replies: a value is bytes, sent as it is.
                return CachedItems({product_id: cast(bytes, value)}, "")
            token = secrets.token_hex(8)
            lease = f"{LEASE_PREFIX}{product_id}"
            await self._redis.set(lease, token, px=LEASE_MILLISECONDS, nx=True)
        except RedisError as exc:
            _ITEM_ERROR.inc()
            log.warning("catalog cache unavailable, reading DynamoDB: %s", exc)
            return None
        _ITEM_MISS.inc()
        return CachedItems({}, token)

    async def cached_product(self, product_id: int) -> bytes | None:
        """The product's JSON if cached, else None, leasing nothing and logging nothing: the
        caller then reads through `product`, which leases, counts the miss and logs errors."""
        return await self._cached(f"{ITEM_PREFIX}{product_id}", _ITEM_HIT)

    async def cached_price(self, product_id: int) -> bytes | None:
        """The product's price JSON if cached, else None (as `cached_product`; the miss is
        counted here, as the caller's read through `product` counts the product's)."""
        return await self._cached(f"{PRICE_PREFIX}{product_id}", _PRICE_HIT, _PRICE_MISS)

    async def _cached(self, key: str, hit: Counter, miss: Counter | None = None) -> bytes | None:
        """A cache-only GET: None on a miss, or while Redis is failing (reads pause a moment)."""
        copies = self._copies
        if copies is not None:
            value = copies.get(key)
            if value is not None:
                hit.inc()
                return value
        if time.monotonic() < self._cache_only_paused_until:
            return None
        token = copies.begin(key) if copies is not None else None
        try:
            # The client does not decode replies: a value is bytes.
            value = cast(bytes | None, await self._redis.get(key))
        except RedisError:
            self._pause_cache_only_reads()
            return None
        if copies is not None:
            copies.offer(key, token, value)
        if value is None:
            if miss is not None:
                miss.inc()
            return None
        hit.inc()
        return value

    async def cached_page(self, digest: str) -> bytes | None:
        """The page's whole JSON if it and all its products are cached, else None, leasing
        nothing and logging nothing: the caller then reads through `page`."""
        if time.monotonic() < self._cache_only_paused_until:
            return None
        try:
            reply = await self._read(args=["", digest])
        except RedisError:
            self._pause_cache_only_reads()
            return None
        if not reply[2]:
            return None
        _PAGE_HIT.inc()
        return cast(bytes, reply[2])

    def _pause_cache_only_reads(self) -> None:
        self._cache_only_paused_until = time.monotonic() + CACHE_ONLY_PAUSE_SECONDS

    async def items(self, product_ids: Sequence[int]) -> CachedItems | None:
        """The cached JSON of these products (leasing the missing ones); None: Redis is down."""
        token = secrets.token_hex(8)
        try:
            reply = await self._read(args=[token, "", *product_ids])
        except RedisError as exc:
            _ITEM_ERROR.inc()
            log.warning("catalog cache unavailable, reading DynamoDB: %s", exc)
            return None
        return self._items(product_ids, reply[3:], token)

    async def page(self, digest: str) -> CachedPage | None:
        """The cached page and its products' JSON, in one round trip; None: Redis is down."""
        token = secrets.token_hex(8)
        try:
            reply = await self._read(args=[token, digest])
        except RedisError as exc:
            _PAGE_ERROR.inc()
            log.warning("catalog cache unavailable, reading DynamoDB: %s", exc)
            return None
        generation = reply[0].decode()
        if not reply[1]:
            _PAGE_MISS.inc()
            return CachedPage(generation, None, None, CachedItems({}, token))
        _PAGE_HIT.inc()
        if reply[2]:
            return CachedPage(generation, [], None, CachedItems({}, token), body=reply[2])
        listed, _, cursor = reply[1].partition(b"\n")
        ids = [int(product_id) for product_id in listed.split(b",")] if listed else []
        items = self._items(ids, reply[3:], token)
        return CachedPage(generation, ids, cursor.decode() or None, items)

    async def store_page(
        self, generation: str, digest: str, ids: Sequence[int], next_cursor: str | None
    ) -> None:
        # Under the generation read before the page was loaded: if a write bumped it since,
        # this entry is unreachable, so a page loaded before a write is never served after it.
        value = f"{','.join(map(str, ids))}\n{next_cursor or ''}"
        try:
            await self._redis.set(f"{PAGE_PREFIX}{generation}:{digest}", value, ex=self._page_ttl)
        except RedisError as exc:
            log.warning("catalog page not cached: %s", exc)

    async def fill(self, token: str, products: Mapping[int, tuple[bytes, bytes]]) -> None:
        """Caches products loaded after `items`/`page` leased them, unless a write came since:
        each product's (JSON, price JSON)."""
        if not products:
            return
        triples = [
            part
            for product_id, (item, price) in products.items()
            for part in (product_id, item, price)
        ]
        try:
            await self._fill(args=[token, self._item_ttl, *triples])
        except RedisError as exc:
            log.warning("catalog cache not filled: %s", exc)

    async def invalidate(
        self, product_ids: Iterable[int], *, listings: bool, stock_only: bool = False
    ) -> None:
        keys = _entry_keys(product_ids, stock_only=stock_only)
        try:
            await _invalidate_keys(self._redis, keys, listings=listings)
        finally:
            # After Redis has the change: a GET in flight before it is not kept either.
            if self._copies is not None:
                self._copies.drop(keys)

    @staticmethod
    def _items(ids: Sequence[int], values: Sequence[bytes | None], token: str) -> CachedItems:
        # RESP3 turns the script's `false` into False, RESP2 into None: both mean missing.
        found = {product_id: value for product_id, value in zip(ids, values, strict=True) if value}
        if found:
            _ITEM_HIT.inc(len(found))
        if len(found) < len(ids):
            _ITEM_MISS.inc(len(ids) - len(found))
        return CachedItems(found, token)
