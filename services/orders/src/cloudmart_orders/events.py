"""The orders service's events: one per status change of an order, on `orders`, keyed by the
order id so that one order's events stay in order (architecture.md §5)."""

from typing import Any

from cloudmart_common import topology
from cloudmart_common.events import new_event
from cloudmart_common.outbox import OutboxMessage
from cloudmart_orders.models import Order

EVENT_OF_STATUS = {
    "pending": "order_created",
    "processing": "order_paid",
    "shipped": "order_shipped",
    "delivered": "order_delivered",
    "cancelled": "order_cancelled",
}


def order_fields(order: Order) -> dict[str, Any]:
    """The fields every order event carries (architecture.md §5)."""
    return {
        "order_id": order.id,
        "user_id": order.user_id,
        "total_amount": order.total_amount,
        "currency": order.currency,
        "status": order.status,
        "items": [
            {
                "product_id": item.product_id,
                "product_name": item.product_name,
                "quantity": item.quantity,
                "price": item.price,
            }
            for item in order.items
        ],
        "shipping_region": order.shipping_region,
    }


def status_changed(
    order: Order, status: str, fields: dict[str, Any] | None = None
) -> OutboxMessage:
    """The event announcing that `order` became `status`, keyed by the order."""
    event = new_event(EVENT_OF_STATUS[status], fields or order_fields(order))
    return OutboxMessage(topology.ORDERS.name, str(order.id), event)
