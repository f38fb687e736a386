"""The status workflow of architecture.md §5: pending -> processing -> shipped -> delivered, and
cancelled from pending or processing. Nothing else moves an order."""

from cloudmart_orders.errors import IllegalTransition

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"processing", "cancelled"}),
    "processing": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}
# Only a successful payment takes an order out of pending into processing.
PAYMENT_ONLY = frozenset({("pending", "processing")})
EVENT_OF_STATUS = {
    "pending": "order_created",
    "processing": "order_paid",
    "shipped": "order_shipped",
    "delivered": "order_delivered",
    "cancelled": "order_cancelled",
}


def check_transition(current: str, target: str, *, by_payment: bool = False) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "none"
        raise IllegalTransition(
            f"an order {current} cannot become {target} (allowed: {allowed})",
            status=current,
            requested=target,
        )
    if (current, target) in PAYMENT_ONLY and not by_payment:
        raise IllegalTransition(
            "only a successful payment moves an order from pending to processing",
            status=current,
            requested=target,
        )
