"""What the notifier and its templates read of each event: checked in tests/contracts.

Templates render with StrictUndefined, so a field a template uses is required: without it the
event is poison (DLQ). `name` and `shop_url` come from the service, not from the event.
"""

from cloudmart_common import topology
from cloudmart_eventtools.event_contracts import ConsumerContract, FieldRead, reads

_ORDER = ("order_id", "user_id", "total_amount", "currency", "timestamp")
_ITEMS = ("items[].quantity", "items[].product_name", "items[].price")

ORDERS = ConsumerContract(
    consumer="notifications",
    topic=topology.ORDERS.name,
    reads={
        "order_created": reads(required=(*_ORDER, *_ITEMS)),
        "order_paid": reads(required=(*_ORDER, *_ITEMS)),
        # `{% if shipping_region %}`: present (possibly null) in every order event.
        "order_shipped": reads(required=(*_ORDER, *_ITEMS, "shipping_region")),
        "order_delivered": reads(required=_ORDER),
        "order_cancelled": (
            *reads(required=(*_ORDER, "cancel_reason")),
            FieldRead("refunded", "required", "`{% if refunded %}` fails when it is absent"),
        ),
    },
)

PAYMENTS = ConsumerContract(
    consumer="notifications",
    topic=topology.PAYMENTS.name,
    reads={
        "payment_succeeded": reads(),  # silent: order_paid tells the buyer
        "payment_failed": reads(),  # silent: order_cancelled tells the buyer
        "payment_refunded": reads(
            required=(
                "order_id",
                "user_id",
                "currency",
                "amount",
                "refund_amount",
                "refunded_amount",
                "reason",
            )
        ),
    },
)

NOTIFICATIONS = ConsumerContract(
    consumer="notifications",
    topic=topology.NOTIFICATIONS.name,
    reads={
        "password_reset_requested": reads(
            required=("username", "email", "reset_token", "expires_at"),
            optional=("full_name",),  # the greeting falls back to the username
        ),
        "stock_low": reads(
            required=("product_id", "product_name", "sku", "stock_quantity", "threshold")
        ),
    },
)

CONTRACTS = (ORDERS, PAYMENTS, NOTIFICATIONS)
