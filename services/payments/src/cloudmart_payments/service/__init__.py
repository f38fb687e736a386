"""The payments domain: charge an order once, refund within what was captured. No FastAPI here.

A charge is two durable steps around one Stripe call, so a crash anywhere leaves a row the
reconciler (or a retried request) can finish from Stripe's own state (ADR 0008):

1. `pending` row committed (one per order: order_id is unique);
2. one PaymentIntent created and confirmed (Stripe idempotency key from the row id, the row
   id in its metadata);
3. the outcome, the intent's id and the `payment_succeeded` / `payment_failed` event written
   together, in one statement.

A row still pending after `reconcile_after_seconds` is settled from its intent, found by id or,
when a crash came before the id was recorded, by the metadata: none found means nothing was
charged (the payment fails, `abandoned`); an intent left unconfirmed (rows from before the
one-call charge) is cancelled; a succeeded intent settles it as succeeded. Refunds follow the
same pattern.
"""

from cloudmart_payments.service.cards import Cards
from cloudmart_payments.service.charges import declined
from cloudmart_payments.service.webhooks import Webhooks

__all__ = ["PaymentService", "declined"]


class PaymentService(Webhooks, Cards):
    """Charges, refunds, saved cards and settling from Stripe: one object for the routes."""
