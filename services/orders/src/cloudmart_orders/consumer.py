"""The `payments` topic as the orders service reads it: asynchronous payment outcomes."""

import logging
from collections.abc import Callable

from redis.asyncio import Redis

from cloudmart_common.kafka_consumer import ConsumedEvent, DedupeStore, EventConsumer, Handler
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.topology import ORDERS_GROUP
from cloudmart_orders.service import OrderService
from cloudmart_orders.settings import Settings

log = logging.getLogger(__name__)

# The order's own cancel asked for the refund: nothing to change.
IGNORED = frozenset({"payment_refunded"})


def already_handled(orders: OrderService) -> Callable[[bytes | None, bytes | None], bool]:
    """A success for an order this process's saga marked paid: `on_payment_succeeded` would
    find it settled (records are keyed by order id)."""

    def settled(event_type: bytes | None, key: bytes | None) -> bool:
        return event_type == b"payment_succeeded" and key is not None and orders.paid_here(key)

    return settled


def payment_handler(orders: OrderService) -> Handler:
    async def handle(consumed: ConsumedEvent) -> None:
        event = consumed.event
        order_id, payment_id = int(event["order_id"]), int(event["payment_id"])
        if consumed.event_type == "payment_succeeded":
            await orders.on_payment_succeeded(order_id, payment_id)
        elif consumed.event_type == "payment_failed":
            await orders.on_payment_failed(order_id, payment_id, str(event["failure_reason"]))

    return handle


def payments_consumer(
    settings: Settings, orders: OrderService, redis: Redis, dlq_producer: EventProducer
) -> EventConsumer:
    return EventConsumer(
        settings,
        group=ORDERS_GROUP,
        handler=payment_handler(orders),
        ignored=IGNORED,
        already_handled=already_handled(orders),
        dedupe=DedupeStore(redis, ORDERS_GROUP.group_id),
        dlq_producer=dlq_producer,
    )
