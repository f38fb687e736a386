"""The products domain: catalog writes with cache invalidation, stock, reservations, alerts."""

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Counter

from cloudmart_common.fault_flags import NO_FAULTS, PRODUCT_CATALOG_FAILURE, FaultFlags
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_products import events
from cloudmart_products.catalog_cache import CachedItems, CatalogCache, page_digest
from cloudmart_products.errors import (
    CatalogUnavailable,
    DuplicateSku,
    OutOfStock,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
)
from cloudmart_products.repository import Filters, ProductTable
from cloudmart_products.reservations import ReservationTable
from cloudmart_products.schemas import (
    PriceOut,
    ProductIn,
    ProductOut,
    ProductUpdate,
    ReservationIn,
    StockChange,
)

log = logging.getLogger(__name__)

STOCK_RESERVATIONS = Counter(
    "stock_reservations_total",
    "Reservation requests by outcome (reserved, repeated, out_of_stock, released)",
    ["outcome"],
)


class Catalog:
    def __init__(
        self,
        table: ProductTable,
        reservations: ReservationTable,
        cache: CatalogCache,
        producer: EventProducer,
        low_stock_threshold: int,
        *,
        faults: FaultFlags = NO_FAULTS,
    ) -> None:
        self._table = table
        self._reservations = reservations
        self._cache = cache
        self._producer = producer
        self._threshold = low_stock_threshold
        self._faults = faults

    def _check_catalog_up(self, read: str) -> None:
        # Before the cache too: the fault stands for the whole catalog read path being down.
        if self._faults.product_catalog_failure():
            self._faults.triggered(PRODUCT_CATALOG_FAILURE, f"{read} refused")
            raise CatalogUnavailable("the catalog is unavailable (product-catalog-failure flag)")

    async def product_json(self, product_id: int) -> bytes:
        """The product's public JSON: from the cache as stored, so a hit parses nothing."""
        self._check_catalog_up(f"product {product_id}")
        cached = await self._cache.product(product_id)
        if cached is not None and product_id in cached.found:
            return cached.found[product_id]
        product = (await self._load([product_id], cached)).get(product_id)
        if product is None:
            raise ProductNotFound(f"no product {product_id}")
        return product

    async def price_json(self, product_id: int) -> bytes:
        """The product's name and price as PriceOut's JSON; cached apart from its stock, so a
        sale leaves it cached."""
        self._check_catalog_up(f"price of product {product_id}")
        price = await self._cache.cached_price(product_id)
        if price is not None:
            return price
        cached = await self._cache.product(product_id)
        if cached is not None and product_id in cached.found:
            # Not cached from here: without the lease a fill holds, an edit landing meanwhile
            # could be overwritten by this older copy.
            return _price_json(json.loads(cached.found[product_id]))
        product = (await self._load([product_id], cached, prices=True)).get(product_id)
        if product is None:
            raise ProductNotFound(f"no product {product_id}")
        return product

    async def cached_price_json(self, product_id: int) -> bytes | None:
        """`price_json`'s answer when the cache holds it and the catalog is up, else None."""
        if self._faults.product_catalog_failure():
            return None
        return await self._cache.cached_price(product_id)

    async def cached_product_json(self, product_id: int) -> bytes | None:
        """`product_json`'s answer when the cache holds it and the catalog is up; None:
        `product_json` decides (loads, refuses, or says not found)."""
        if self._faults.product_catalog_failure():
            return None
        return await self._cache.cached_product(product_id)

    async def cached_page_json(
        self, filters: Filters, limit: int, cursor: str | None
    ) -> bytes | None:
        """`page_json`'s answer when the cache holds the whole page and the catalog is up."""
        if self._faults.product_catalog_failure():
            return None
        return await self._cache.cached_page(_page_digest(filters, limit, cursor))

    async def page_json(self, filters: Filters, limit: int, cursor: str | None) -> bytes:
        """A page as the public JSON of a ProductPage, assembled from the products' JSON."""
        self._check_catalog_up("product list")
        digest = _page_digest(filters, limit, cursor)
        page = await self._cache.page(digest)
        if page is not None and page.body is not None:
            return page.body
        if page is not None and page.ids is not None:
            ids, next_cursor, cached = page.ids, page.next_cursor, page.items
        else:
            ids, next_cursor = await self._table.page_ids(filters, limit, cursor)
            cached = None
            if page is not None:
                await self._cache.store_page(page.generation, digest, ids, next_cursor)
                cached = await self._cache.items(ids)
        found = cached.found if cached is not None else {}
        if len(found) < len(ids):
            found = {**found, **await self._load([i for i in ids if i not in found], cached)}
        # A product deleted since the page was listed is left out: the deletion bumped the
        # generation, so the next read lists the page again.
        items = b",".join(found[product_id] for product_id in ids if product_id in found)
        return b'{"items":[%b],"next_cursor":%b}' % (items, json.dumps(next_cursor).encode())

    async def _load(
        self, product_ids: Sequence[int], cached: CachedItems | None, *, prices: bool = False
    ) -> dict[int, bytes]:
        """The products' public JSON from DynamoDB (one batch read), cached for the next read.

        Read consistently after `cached` leased them: a write since then deleted the lease,
        so its older copy is never cached (a TTL alone would serve it for an hour).
        """
        if len(product_ids) == 1:
            product = await self._table.get(product_ids[0])
            products = {product_ids[0]: product} if product is not None else {}
        else:
            products = await self._table.get_many(product_ids)
        loaded = {
            product_id: (
                ProductOut.model_validate(product).model_dump_json().encode(),
                _price_json(product),
            )
            for product_id, product in products.items()
        }
        if cached is not None:
            await self._cache.fill(cached.token, loaded)
        return {product_id: both[1 if prices else 0] for product_id, both in loaded.items()}

    async def category_counts(self) -> dict[str, int]:
        self._check_catalog_up("categories")
        return await self._table.category_counts()

    async def by_sku(self, sku: str) -> dict[str, Any]:
        self._check_catalog_up(f"sku {sku}")
        product = await self._table.by_sku(sku)
        if product is None:
            raise ProductNotFound(f"no product with sku {sku}")
        return product

    async def create(self, data: ProductIn) -> dict[str, Any]:
        # The GSI check is not atomic with the put: two concurrent creations of one new SKU
        # could both pass; admins create products one at a time, and the import is serial.
        if await self._table.by_sku(data.sku) is not None:
            raise DuplicateSku(f"sku {data.sku} is already used", sku=data.sku)
        product_id = await self._table.next_id()
        product = await self._table.create({"id": product_id, **data.model_dump()})
        await self._cache.invalidate([product_id], listings=True)
        return product

    async def update(self, product_id: int, changes: ProductUpdate) -> dict[str, Any]:
        product = await self._table.update(product_id, changes.model_dump(exclude_unset=True))
        await self._cache.invalidate([product_id], listings=product is not None)
        if product is None:
            raise ProductNotFound(f"no product {product_id}")
        return product

    async def delete(self, product_id: int) -> None:
        deleted = await self._table.delete(product_id)
        await self._cache.invalidate([product_id], listings=deleted)
        if not deleted:
            raise ProductNotFound(f"no product {product_id}")

    async def change_stock(self, product_id: int, change: StockChange) -> dict[str, Any]:
        changed = await self._table.change_stock(
            product_id, set_to=change.set, adjust=change.adjust
        )
        if changed is None:
            if await self._table.get(product_id) is None:
                raise ProductNotFound(f"no product {product_id}")
            raise OutOfStock(f"stock of product {product_id} cannot go below zero")
        await self._cache.invalidate([product_id], listings=changed.crossed_zero, stock_only=True)
        log.info("stock of product %s changed: %s", product_id, change.reason)
        await self._after_stock_change([product_id])
        return changed.product

    async def reserve(self, reservation: ReservationIn) -> tuple[dict[str, Any], bool]:
        """(reservation, created): all lines or none; a repeat for the same order is a no-op."""
        lines = [(line.product_id, line.quantity) for line in reservation.lines]
        reserved = await self._reservations.reserve(
            reservation.order_id, lines, low_stock_threshold=self._threshold
        )
        if reserved.outcome == "short":
            STOCK_RESERVATIONS.labels("out_of_stock").inc()
            raise OutOfStock(
                "not enough stock for every line; nothing was reserved", product_ids=reserved.short
            )
        record = reserved.record or await self._reservations.reservation(reservation.order_id)
        assert record is not None
        if sorted(record["lines"]) != sorted(lines):
            raise ReservationConflict(
                f"order {reservation.order_id} already holds a different reservation"
            )
        created = reserved.outcome == "reserved"
        STOCK_RESERVATIONS.labels("reserved" if created else "repeated").inc()
        if created:
            # Only these products' entries: a sale that leaves stock keeps every page.
            await self._cache.invalidate(
                [product for product, _ in lines],
                listings=reserved.may_have_sold_out,
                stock_only=True,
            )
            if reserved.may_be_low:  # else every line stayed above the threshold: no flag moves
                await self._after_stock_change([product for product, _ in lines])
        return record, created

    async def release(self, order_id: str) -> dict[str, Any]:
        record = await self._reservations.reservation(order_id)
        if record is None:
            raise ReservationNotFound(f"order {order_id} holds no reservation")
        back_in_stock = await self._reservations.release(order_id, record["lines"])
        if back_in_stock is not None:
            STOCK_RESERVATIONS.labels("released").inc()
            await self._cache.invalidate(
                [product for product, _ in record["lines"]],
                listings=back_in_stock,
                stock_only=True,
            )
            # Stock only went up: at most a flag to clear, never a new alert.
            await self._after_stock_change([p for p, _ in record["lines"]], may_alert=False)
        released = await self._reservations.reservation(order_id)
        assert released is not None
        return released

    async def _after_stock_change(self, product_ids: list[int], *, may_alert: bool = True) -> None:
        """A `stock_low` event once per crossing below the threshold, to the admins."""
        states = await self._table.stock_states(product_ids)
        for product_id, (stock, flagged) in states.items():
            # Only a flag that must change is written, and conditionally: a concurrent
            # change that wins the race does its own check after its own write.
            if stock > self._threshold:
                if flagged:
                    await self._table.clear_low_stock(product_id, self._threshold)
                continue
            if (
                may_alert
                and not flagged
                and await self._table.mark_low_stock(product_id, self._threshold)
            ):
                product = await self._table.get(product_id)
                if product is None:
                    continue
                try:
                    await self._producer.send(
                        *events.stock_low(product_id, product, self._threshold)
                    )
                except Exception as exc:  # an alert must not fail the sale that caused it
                    log.warning("stock_low for product %s not published: %s", product_id, exc)


def _page_digest(filters: Filters, limit: int, cursor: str | None) -> str:
    return page_digest(
        limit=limit,
        cursor=cursor,
        category=filters.category,
        min_price=filters.min_price,
        max_price=filters.max_price,
        in_stock=filters.in_stock,
        text=filters.text,
    )


def _price_json(product: Mapping[str, Any]) -> bytes:
    return PriceOut.model_validate(product).model_dump_json().encode()
