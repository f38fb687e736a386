"""Settling from Stripe's side: its webhook events and the reconciler after a crash."""

import logging
from datetime import UTC, datetime, timedelta

from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_payments import repository
from cloudmart_payments.models import Payment, Refund
from cloudmart_payments.service.charges import Charges, Outcome, abandoned, outcome_of
from cloudmart_payments.service.refunds import Refunds
from cloudmart_payments.stripe_gateway import (
    IntentState,
    RefundState,
    StripeRefused,
)

log = logging.getLogger(__name__)


class Webhooks(Charges, Refunds):
    # -- reconciliation (crash recovery) and webhooks ------------------------------------

    async def reconcile(self, batch: int = 50) -> int:
        """Settle payments and refunds left pending by a crash or an outage; how many were."""
        before = datetime.now(UTC) - timedelta(seconds=self._settings.reconcile_after_seconds)
        async with self._sessions() as session:
            payments = await repository.stale_payments(session, before, batch)
            refunds = await repository.stale_refunds(session, before, batch)
        settled = 0
        for payment in payments:
            try:
                settled += await self._reconcile_payment(payment)
            except (UpstreamUnavailable, StripeRefused) as exc:
                log.warning("payment %s not reconciled: %s", payment.id, exc)
        for refund in refunds:
            try:
                settled += await self._reconcile_refund(refund)
            except (UpstreamUnavailable, StripeRefused) as exc:
                log.warning("refund %s not reconciled: %s", refund.id, exc)
        return settled

    async def _reconcile_refund(self, refund: Refund) -> bool:
        if refund.stripe_refund_id is None:
            # Asked again with the same Stripe idempotency key: done once, whatever happened.
            refund = await self._send_refund(refund)
        else:
            refund = await self._settle_refund(
                refund.id, await self._stripe.retrieve_refund(refund.stripe_refund_id)
            )
        return refund.status != "pending"

    async def _reconcile_payment(self, payment: Payment) -> bool:
        intent: IntentState | None
        if payment.transaction_id is None:
            # Charged, with a crash before the intent was recorded, or never charged at all.
            intent = await self._stripe.find_intent(payment.id)
        else:
            intent = await self._stripe.retrieve_intent(payment.transaction_id)
        outcome: Outcome | None
        if intent is None:
            outcome = abandoned()  # no intent carries this payment: nothing was charged
        elif intent.status == "requires_confirmation":
            # Created unconfirmed and never confirmed; the caller has long given up: release it.
            intent = await self._stripe.cancel_intent(intent.id)
            outcome = outcome_of(intent) or abandoned()
            if outcome.failure_code == "canceled":
                outcome = abandoned()
        else:
            outcome = outcome_of(intent)
        if outcome is None:
            return False
        settled = await self._settle(payment, outcome, intent.id if intent else None)
        log.warning(
            "reconciled payment %s of order %s: %s", settled.id, settled.order_id, settled.status
        )
        return True

    async def on_intent_event(self, intent: IntentState) -> bool:
        """A PaymentIntent webhook: settle our pending payment from it. Replays change nothing."""
        async with self._sessions() as session:
            payment = await repository.payment_by_intent(session, intent.id)
        outcome = outcome_of(intent)
        if payment is None or outcome is None or payment.status != "pending":
            return False
        await self._settle(payment, outcome)
        return True

    async def on_refund_event(self, state: RefundState) -> bool:
        async with self._sessions() as session:
            refund = await repository.refund_by_stripe_id(session, state.id)
        if refund is None or refund.status != "pending":
            return False
        await self._settle_refund(refund.id, state)
        return True
