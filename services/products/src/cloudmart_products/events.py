"""The products service's events: low stock for the admins, on `notifications`, keyed by the
product id (architecture.md §5). Sent directly after the stock write (DynamoDB has no outbox):
best effort."""

from typing import Any

from cloudmart_common import topology
from cloudmart_common.events import new_event


def stock_low(
    product_id: int, product: dict[str, Any], threshold: int
) -> tuple[str, str, dict[str, Any]]:
    """(topic, key, event) of `stock_low` for a product that went under `threshold`."""
    event = new_event(
        "stock_low",
        {
            "product_id": product_id,
            "product_name": product["name"],
            "sku": product["sku"],
            "stock_quantity": product["stock_quantity"],
            "threshold": threshold,
        },
    )
    return topology.NOTIFICATIONS.name, str(product_id), event
