"""What the dashboard reads of the analytics results (repository.py, service.py): contracts.

Results are also served whole by the API; the fields here are the ones the service itself uses.
"""

from cloudmart_common import topology
from cloudmart_eventtools.event_contracts import ConsumerContract, reads

ANALYTICS_RESULTS = ConsumerContract(
    consumer="dashboard",
    topic=topology.ANALYTICS_RESULTS.name,
    reads={
        "analytics_window": reads(
            # window_start keys the Redis index; the summary spans window_start..window_end.
            required=("window_start", "window_end", "top_products[].product_id"),
            # The summary adds these up with .get(..., 0): a window without them counts zero
            # (version 1 windows have no gross_order_value, paid_order_count or refunds).
            optional=(
                "order_count",
                "gross_order_value",
                "paid_order_count",
                "revenue",
                "refunds",
                "cancellations",
                "top_products[].product_name",
                "top_products[].quantity",
                "top_products[].revenue",
                "by_region{}.order_count",
                "by_region{}.gross_order_value",
                "by_region{}.revenue",
            ),
        ),
        "anomaly_detected": reads(),  # kept and streamed whole
        "late_event": reads(),  # only counted
        # The latest by window_end is kept; served and streamed whole.
        "trending_products": reads(required=("window_end",)),
    },
)
