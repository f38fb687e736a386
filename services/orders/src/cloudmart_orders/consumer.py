"""The `payments` topic as the orders service reads it: asynchronous payment outcomes."""

import logging

from cloudmart_common.kafka_consumer import ConsumedEvent, Handler
from cloudmart_orders.service import OrderService

log = logging.getLogger(__name__)

GROUP_ID = "order-service-group"
TOPICS = ["payments"]


def payment_handler(orders: OrderService) -> Handler:
    async def handle(consumed: ConsumedEvent) -> None:
        event = consumed.event
        order_id, payment_id = int(event["order_id"]), int(event["payment_id"])
        if consumed.event_type == "payment_succeeded":
            await orders.on_payment_succeeded(order_id, payment_id)
        elif consumed.event_type == "payment_failed":
            await orders.on_payment_failed(order_id, payment_id, str(event["failure_reason"]))
        # payment_refunded: the order's own cancel asked for it; nothing to change.

    return handle
