"""The products domain: catalog writes with cache invalidation, stock, reservations, alerts."""

import logging
from typing import Any

from prometheus_client import Counter

from cloudmart_common.cache import ReadThroughCache
from cloudmart_common.events import new_event
from cloudmart_common.fault_flags import NO_FAULTS, PRODUCT_CATALOG_FAILURE, FaultFlags
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_products.errors import (
    CatalogUnavailable,
    DuplicateSku,
    OutOfStock,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
)
from cloudmart_products.repository import Filters, ProductTable
from cloudmart_products.schemas import (
    ProductIn,
    ProductOut,
    ProductUpdate,
    ReservationIn,
    StockChange,
)

log = logging.getLogger(__name__)
NOTIFICATIONS_TOPIC = "notifications"

STOCK_RESERVATIONS = Counter(
    "stock_reservations_total",
    "Reservation requests by outcome (reserved, repeated, out_of_stock, released)",
    ["outcome"],
)


class Catalog:
    def __init__(
        self,
        table: ProductTable,
        cache: ReadThroughCache,
        producer: EventProducer,
        low_stock_threshold: int,
        *,
        faults: FaultFlags = NO_FAULTS,
    ) -> None:
        self._table = table
        self._cache = cache
        self._producer = producer
        self._threshold = low_stock_threshold
        self._faults = faults

    def _check_catalog_up(self, read: str) -> None:
        # Before the cache too: the fault stands for the whole catalog read path being down.
        if self._faults.product_catalog_failure():
            self._faults.triggered(PRODUCT_CATALOG_FAILURE, f"{read} refused")
            raise CatalogUnavailable("the catalog is unavailable (product-catalog-failure flag)")

    async def get(self, product_id: int) -> dict[str, Any]:
        self._check_catalog_up(f"product {product_id}")

        async def load() -> dict[str, Any] | None:
            product = await self._table.get(product_id)
            # Cached as its public JSON form: Decimal prices do not go into JSON as they are.
            return ProductOut.model_validate(product).model_dump(mode="json") if product else None

        product = await self._cache.get_or_load(str(product_id), load)
        if product is None:
            raise ProductNotFound(f"no product {product_id}")
        return dict(product)

    async def page(
        self, filters: Filters, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self._check_catalog_up("product list")
        return await self._table.page(filters, limit, cursor)

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
        return await self._table.create({"id": product_id, **data.model_dump()})

    async def update(self, product_id: int, changes: ProductUpdate) -> dict[str, Any]:
        product = await self._table.update(product_id, changes.model_dump(exclude_unset=True))
        await self._cache.invalidate(str(product_id))
        if product is None:
            raise ProductNotFound(f"no product {product_id}")
        return product

    async def delete(self, product_id: int) -> None:
        deleted = await self._table.delete(product_id)
        await self._cache.invalidate(str(product_id))
        if not deleted:
            raise ProductNotFound(f"no product {product_id}")

    async def change_stock(self, product_id: int, change: StockChange) -> dict[str, Any]:
        product = await self._table.change_stock(
            product_id, set_to=change.set, adjust=change.adjust
        )
        await self._cache.invalidate(str(product_id))
        if product is None:
            if await self._table.get(product_id) is None:
                raise ProductNotFound(f"no product {product_id}")
            raise OutOfStock(f"stock of product {product_id} cannot go below zero")
        log.info("stock of product %s changed: %s", product_id, change.reason)
        await self._after_stock_change([product_id])
        return product

    async def reserve(self, reservation: ReservationIn) -> tuple[dict[str, Any], bool]:
        """(reservation, created): all lines or none; a repeat for the same order is a no-op."""
        lines = [(line.product_id, line.quantity) for line in reservation.lines]
        outcome, short = await self._table.reserve(reservation.order_id, lines)
        if outcome == "short":
            STOCK_RESERVATIONS.labels("out_of_stock").inc()
            raise OutOfStock(
                "not enough stock for every line; nothing was reserved", product_ids=short
            )
        record = await self._table.reservation(reservation.order_id)
        assert record is not None
        if sorted(record["lines"]) != sorted(lines):
            raise ReservationConflict(
                f"order {reservation.order_id} already holds a different reservation"
            )
        STOCK_RESERVATIONS.labels("reserved" if outcome == "reserved" else "repeated").inc()
        if outcome == "reserved":
            await self._cache.invalidate(*(str(product) for product, _ in lines))
            await self._after_stock_change([product for product, _ in lines])
        return record, outcome == "reserved"

    async def release(self, order_id: str) -> dict[str, Any]:
        record = await self._table.reservation(order_id)
        if record is None:
            raise ReservationNotFound(f"order {order_id} holds no reservation")
        if await self._table.release(order_id, record["lines"]):
            STOCK_RESERVATIONS.labels("released").inc()
            await self._cache.invalidate(*(str(product) for product, _ in record["lines"]))
            # Stock only went up: at most a flag to clear, never a new alert.
            await self._after_stock_change([p for p, _ in record["lines"]], may_alert=False)
        released = await self._table.reservation(order_id)
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
                event = new_event(
                    "stock_low",
                    {
                        "product_id": product_id,
                        "product_name": product["name"],
                        "sku": product["sku"],
                        "stock_quantity": product["stock_quantity"],
                        "threshold": self._threshold,
                    },
                )
                try:
                    await self._producer.send(NOTIFICATIONS_TOPIC, str(product_id), event)
                except Exception as exc:  # an alert must not fail the sale that caused it
                    log.warning("stock_low for product %s not published: %s", product_id, exc)
