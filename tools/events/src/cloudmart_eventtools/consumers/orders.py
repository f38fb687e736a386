"""What the payments consumer (consumer.py) reads of each payment event, for tests/contracts."""

from cloudmart_common import topology
from cloudmart_eventtools.event_contracts import ConsumerContract, reads

# The handler converts order_id and payment_id of every event before it looks at the type.
_IDS = ("order_id", "payment_id")

PAYMENTS = ConsumerContract(
    consumer="orders",
    topic=topology.PAYMENTS.name,
    reads={
        "payment_succeeded": reads(required=_IDS),
        "payment_failed": reads(required=(*_IDS, "failure_reason")),
        "payment_refunded": reads(required=_IDS),
    },
)
