"""The payments service's events on `payments`, keyed by the order id (not the payment's): one
order's payment events stay in order (architecture.md §5)."""

from typing import Any

from cloudmart_common import topology
from cloudmart_common.events import new_event
from cloudmart_common.outbox import OutboxMessage
from cloudmart_payments.models import Payment, Refund


def _payment_fields(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "user_id": payment.user_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "transaction_id": payment.transaction_id,
    }


def _about(payment: Payment, event_type: str, fields: dict[str, Any]) -> OutboxMessage:
    event = new_event(event_type, _payment_fields(payment) | fields)
    return OutboxMessage(topology.PAYMENTS.name, str(payment.order_id), event)


def settled(
    payment: Payment,
    status: str,
    *,
    transaction_id: str | None,
    failure_code: str | None,
    failure_reason: str | None,
) -> OutboxMessage:
    """`payment_succeeded` or `payment_failed`."""
    fields: dict[str, Any] = {"status": status, "transaction_id": transaction_id}
    if status == "failed":
        fields |= {
            "failure_code": failure_code or "failed",
            "failure_reason": failure_reason or "the payment failed",
        }
    return _about(payment, f"payment_{status}", fields)


def refunded(payment: Payment, refund: Refund) -> OutboxMessage:
    """`payment_refunded`, with the payment as the refund left it."""
    return _about(
        payment,
        "payment_refunded",
        {
            "refund_id": refund.id,
            "refund_amount": refund.amount,
            "refunded_amount": payment.refunded_amount,
            "reason": refund.reason,
        },
    )
