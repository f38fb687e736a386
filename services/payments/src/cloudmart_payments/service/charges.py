"""Charging an order once: open the row, one Stripe call, settle with its event (ADR 0008)."""

import logging
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import update

from cloudmart_common import scopes
from cloudmart_common.fault_flags import (
    PAYMENT_FAILURE_PERCENT,
    PAYMENT_UNREACHABLE,
)
from cloudmart_common.principal import Principal
from cloudmart_payments import events, repository
from cloudmart_payments.errors import (
    PaymentDeclined,
    PaymentMismatch,
    PaymentNotFound,
    PaymentsUnavailable,
    UnsupportedCurrency,
)
from cloudmart_payments.models import Payment
from cloudmart_payments.schemas import ProcessIn
from cloudmart_payments.service.base import ServiceBase
from cloudmart_payments.stripe_gateway import (
    CardDeclined,
    IntentState,
    StripeRefused,
)

log = logging.getLogger(__name__)


PAYMENT_OUTCOMES = Counter("payments_total", "Payments settled", ["outcome"])

# What a payment declined by the payment-failure-percent fault flag carries as its decline code:
# unlike any of Stripe's, so a demo or a test tells injected declines from real ones.
FAULT_DECLINE_CODE = "fault_injected"

# PaymentIntent statuses that end a payment; the others wait (webhook or reconciler).
_FAILED_INTENT = frozenset({"requires_payment_method", "canceled"})


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed
    charge_id: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None


def outcome_of(intent: IntentState) -> Outcome | None:
    if intent.status == "succeeded":
        return Outcome("succeeded", charge_id=intent.charge_id)
    if intent.status in _FAILED_INTENT:
        return Outcome(
            "failed",
            failure_code=intent.failure_code or intent.status,
            failure_reason=intent.failure_message or f"the payment intent is {intent.status}",
        )
    return None  # processing, requires_action, requires_confirmation: not settled yet


def abandoned() -> Outcome:
    return Outcome(
        "failed", failure_code="abandoned", failure_reason="the charge was never confirmed"
    )


def declined(payment: Payment) -> PaymentDeclined:
    return PaymentDeclined(
        payment.failure_reason or "the payment was declined",
        payment_id=payment.id,
        order_id=payment.order_id,
        decline_code=payment.failure_code,
    )


class Charges(ServiceBase):
    # -- reads ---------------------------------------------------------------------------

    async def get(self, principal: Principal, payment_id: int) -> Payment:
        async with self._statements() as session:
            payment = await session.get(Payment, payment_id)
        if payment is None or not principal.may_see(payment.user_id, scopes.PAYMENTS_READ):
            raise PaymentNotFound(f"no payment {payment_id}")
        return payment

    async def for_order(self, principal: Principal, order_id: int) -> Payment:
        async with self._statements() as session:
            payment = await repository.payment_by_order(session, order_id)
        if payment is None or not principal.may_see(payment.user_id, scopes.PAYMENTS_READ):
            raise PaymentNotFound(f"no payment for order {order_id}")
        return payment

    # -- charging ------------------------------------------------------------------------

    async def process(self, data: ProcessIn) -> Payment:
        """The order's payment, charged at most once; PaymentDeclined when it failed.

        Asked again for the same order (a retried saga step, any Idempotency-Key), it resumes
        a pending payment or reports the settled one: an order is never charged twice.
        """
        if self._faults.payment_unreachable():
            # Before anything is written: to the caller this is payments being down.
            self._faults.triggered(PAYMENT_UNREACHABLE, f"charge of order {data.order_id} refused")
            raise PaymentsUnavailable("payments is unavailable (payment-unreachable fault flag)")
        if data.currency not in self._settings.currencies:
            accepted = ", ".join(sorted(self._settings.currencies))
            raise UnsupportedCurrency(f"{data.currency} is not accepted; use one of {accepted}")
        payment, target = await self._open(data)
        if payment.status == "pending":
            payment = await self._charge(payment, target)
        if payment.status == "failed":
            raise declined(payment)
        return payment

    async def _open(self, data: ProcessIn) -> tuple[Payment, tuple[int | None, str | None] | None]:
        """The order's payment, and whom its card belongs to when it is still to be charged
        (one statement for both). A payment the order already has is read after."""
        opened = await repository.open_payment(
            self._database,
            {
                "order_id": data.order_id,
                "user_id": data.user_id,
                "amount": data.amount,
                "currency": data.currency,
                "payment_method": data.payment_method,
            },
        )
        if opened is not None:
            return opened
        async with self._statements() as session:
            existing = await repository.payment_by_order(session, data.order_id)
        assert existing is not None, "the insert conflicted on this order's payment"
        asked = (data.user_id, data.amount, data.currency, data.payment_method)
        if (existing.user_id, existing.amount, existing.currency, existing.payment_method) != asked:
            raise PaymentMismatch(
                f"order {data.order_id} already has a payment for another amount, currency, "
                "payment method or buyer",
                payment_id=existing.id,
            )
        return existing, None

    async def _charge(
        self, payment: Payment, target: tuple[int | None, str | None] | None = None
    ) -> Payment:
        if payment.transaction_id is None and self._faults.payment_fails_now():
            # Settled as a real decline is (row, event), so the saga compensates as it would.
            self._faults.triggered(
                PAYMENT_FAILURE_PERCENT, f"payment {payment.id} of order {payment.order_id}"
            )
            return await self._settle(
                payment,
                Outcome(
                    "failed",
                    None,
                    FAULT_DECLINE_CODE,
                    "declined by the payment-failure-percent fault flag",
                ),
            )
        if payment.transaction_id is None:
            if target is None:
                async with self._sessions() as session:
                    target = await repository.charge_target(
                        session, payment.payment_method, payment.user_id
                    )
            # A saved card is charged through the buyer's Customer, as Stripe requires.
            owner, customer = target
            if owner is not None and owner != payment.user_id:
                # Another user's saved card is never charged for this buyer, whether or not
                # Stripe would refuse it: fails as an unknown payment method does.
                return await self._settle(
                    payment,
                    Outcome("failed", None, "resource_missing", "no such payment method"),
                )
            try:
                intent = await self._stripe.charge(
                    payment_id=payment.id,
                    amount=payment.amount,
                    currency=payment.currency,
                    payment_method=payment.payment_method,
                    customer=customer,
                    metadata={"payment_id": str(payment.id), "order_id": str(payment.order_id)},
                )
            except CardDeclined as exc:
                return await self._settle(
                    payment, Outcome("failed", None, exc.code, exc.message), exc.intent_id
                )
            except StripeRefused as exc:  # no such payment method, a card of someone else ...
                return await self._settle(payment, Outcome("failed", None, exc.code, exc.message))
            outcome = outcome_of(intent)
            if outcome is None:  # processing, requires_action: a webhook or the reconciler
                return await self._record_intent(payment.id, intent.id)
            return await self._settle(payment, outcome, intent.id)
        intent_id = payment.transaction_id
        assert intent_id is not None
        try:
            intent = await self._stripe.confirm_intent(intent_id, payment.id)
        except CardDeclined as exc:
            return await self._settle(payment, Outcome("failed", None, exc.code, exc.message))
        except StripeRefused:
            # Confirmed before (a retry after a lost answer) or cancelled: Stripe's state decides.
            intent = await self._stripe.retrieve_intent(intent_id)
        outcome = outcome_of(intent)
        return payment if outcome is None else await self._settle(payment, outcome)

    async def _record_intent(self, payment_id: int, intent_id: str) -> Payment:
        async with self._statements() as session, session.begin():
            # One conditional UPDATE, where a locked read and a write took two statements.
            payment: Payment | None = await session.scalar(
                update(Payment)
                .where(Payment.id == payment_id, Payment.transaction_id.is_(None))
                .values(transaction_id=intent_id)
                .returning(Payment),
                execution_options={"populate_existing": True},
            )
            if payment is None:  # another attempt recorded its intent first: that one stands
                payment = await session.get(Payment, payment_id)
            assert payment is not None
            return payment

    async def _settle(
        self, payment: Payment, outcome: Outcome, intent_id: str | None = None
    ) -> Payment:
        """Pending -> succeeded/failed with its event, once; later callers get the row as is.

        One statement (the update conditioned on `pending`, and the event written only with
        it), where a transaction of an UPDATE and the ORM's flush of the event took four
        round trips. `payment` (as read or opened) gives the event the fields no settlement
        changes. `intent_id`: the PaymentIntent that settled it, if the row lacks it.
        """
        event = events.settled(
            payment,
            outcome.status,
            transaction_id=intent_id or payment.transaction_id,
            failure_code=outcome.failure_code,
            failure_reason=outcome.failure_reason,
        )
        settled = await repository.settle(
            self._database,
            payment.id,
            {
                "status": outcome.status,
                "failure_code": outcome.failure_code,
                "failure_reason": outcome.failure_reason,
                "charge_id": outcome.charge_id or None,
                "transaction_id": intent_id,
            },
            event,
        )
        if settled is None:  # settled before: the row as it is
            async with self._statements() as session:
                current = await session.get(Payment, payment.id)
            assert current is not None
            return current
        payment = settled
        if self._after_commit is not None:
            self._after_commit()
        PAYMENT_OUTCOMES.labels(outcome.status).inc()
        # A success is the normal case (counted above, and in the event): logged only when
        # asked, as a JSON log line was a measurable share of a charge's CPU. A failure is news.
        log.log(
            logging.INFO if outcome.status == "failed" else logging.DEBUG,
            "payment %s of order %s %s",
            payment.id,
            payment.order_id,
            outcome.status,
        )
        return payment
