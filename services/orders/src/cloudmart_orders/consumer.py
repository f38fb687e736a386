"""The `payments` topic as the orders service reads it: asynchronous payment outcomes."""

import logging
from collections.abc import Callable

from cloudmart_common.kafka_consumer import ConsumedEvent, Handler
from cloudmart_orders.service import OrderService

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
