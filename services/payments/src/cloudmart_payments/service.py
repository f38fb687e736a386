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

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloudmart_common import scopes, topology
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.db import Database, single_statement_sessions
from cloudmart_common.events import new_event
from cloudmart_common.fault_flags import (
    NO_FAULTS,
    PAYMENT_FAILURE_PERCENT,
    PAYMENT_UNREACHABLE,
    FaultFlags,
)
from cloudmart_common.outbox import OutboxMessage
from cloudmart_common.principal import Principal
from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_payments import repository
from cloudmart_payments.errors import (
    CardNotFound,
    InvalidPaymentMethod,
    NotRefundable,
    PaymentDeclined,
    PaymentMismatch,
    PaymentNotFound,
    PaymentsUnavailable,
    RefundExceedsCaptured,
    RefundRejected,
    UnsupportedCurrency,
)
from cloudmart_payments.models import Payment, Refund, SavedCard, StripeCustomer
from cloudmart_payments.schemas import ProcessIn, RefundIn
from cloudmart_payments.settings import Settings
from cloudmart_payments.stripe_gateway import (
    CardDeclined,
    IntentState,
    RefundState,
    StripeGateway,
    StripeRefused,
)

log = logging.getLogger(__name__)

MAX_SAVED_CARDS = 20

PAYMENT_OUTCOMES = Counter("payments_total", "Payments settled", ["outcome"])
REFUND_OUTCOMES = Counter("refunds_total", "Refunds settled", ["outcome"])

# What a payment declined by the payment-failure-percent fault flag carries as its decline code:
# unlike any of Stripe's, so a demo or a test tells injected declines from real ones.
FAULT_DECLINE_CODE = "fault_injected"

# PaymentIntent statuses that end a payment; the others wait (webhook or reconciler).
_FAILED_INTENT = frozenset({"requires_payment_method", "canceled"})


@dataclass(frozen=True)
class _Outcome:
    status: str  # succeeded | failed
    charge_id: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None


def _outcome_of(intent: IntentState) -> _Outcome | None:
    if intent.status == "succeeded":
        return _Outcome("succeeded", charge_id=intent.charge_id)
    if intent.status in _FAILED_INTENT:
        return _Outcome(
            "failed",
            failure_code=intent.failure_code or intent.status,
            failure_reason=intent.failure_message or f"the payment intent is {intent.status}",
        )
    return None  # processing, requires_action, requires_confirmation: not settled yet


def _abandoned() -> _Outcome:
    return _Outcome(
        "failed", failure_code="abandoned", failure_reason="the charge was never confirmed"
    )


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


def declined(payment: Payment) -> PaymentDeclined:
    return PaymentDeclined(
        payment.failure_reason or "the payment was declined",
        payment_id=payment.id,
        order_id=payment.order_id,
        decline_code=payment.failure_code,
    )


class PaymentService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        database: Database,
        stripe: StripeGateway,
        settings: Settings,
        *,
        after_commit: Callable[[], None] | None = None,
        faults: FaultFlags = NO_FAULTS,
    ) -> None:
        self._sessions = sessions
        # Reads and one-statement writes: no BEGIN/COMMIT round trips around them.
        self._statements = single_statement_sessions(sessions)
        # The charge's statements, on the driver (db.Statement).
        self._database = database
        self._stripe = stripe
        self._settings = settings
        self._after_commit = after_commit
        self._faults = faults

    # -- who may move money ------------------------------------------------------------

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
                _Outcome(
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
                    _Outcome("failed", None, "resource_missing", "no such payment method"),
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
                    payment, _Outcome("failed", None, exc.code, exc.message), exc.intent_id
                )
            except StripeRefused as exc:  # no such payment method, a card of someone else ...
                return await self._settle(payment, _Outcome("failed", None, exc.code, exc.message))
            outcome = _outcome_of(intent)
            if outcome is None:  # processing, requires_action: a webhook or the reconciler
                return await self._record_intent(payment.id, intent.id)
            return await self._settle(payment, outcome, intent.id)
        intent_id = payment.transaction_id
        assert intent_id is not None
        try:
            intent = await self._stripe.confirm_intent(intent_id, payment.id)
        except CardDeclined as exc:
            return await self._settle(payment, _Outcome("failed", None, exc.code, exc.message))
        except StripeRefused:
            # Confirmed before (a retry after a lost answer) or cancelled: Stripe's state decides.
            intent = await self._stripe.retrieve_intent(intent_id)
        outcome = _outcome_of(intent)
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
        self, payment: Payment, outcome: _Outcome, intent_id: str | None = None
    ) -> Payment:
        """Pending -> succeeded/failed with its event, once; later callers get the row as is.

        One statement (the update conditioned on `pending`, and the event written only with
        it), where a transaction of an UPDATE and the ORM's flush of the event took four
        round trips. `payment` (as read or opened) gives the event the fields no settlement
        changes. `intent_id`: the PaymentIntent that settled it, if the row lacks it.
        """
        fields = _payment_fields(payment) | {
            "status": outcome.status,
            "transaction_id": intent_id or payment.transaction_id,
        }
        if outcome.status == "failed":
            fields |= {
                "failure_code": outcome.failure_code or "failed",
                "failure_reason": outcome.failure_reason or "the payment failed",
            }
        event = new_event(f"payment_{outcome.status}", fields)
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
            OutboxMessage(topology.PAYMENTS.name, str(payment.order_id), event),
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

    # -- refunds -------------------------------------------------------------------------

    async def refund(self, request_key: str, data: RefundIn) -> tuple[Refund, Payment]:
        """A refund within what was captured; a retry with the same key resumes the same one."""
        refund = await self._open_refund(request_key, data)
        if refund.status == "pending":
            refund = await self._send_refund(refund)
        if refund.status == "failed":
            raise RefundRejected(
                refund.failure_reason or "Stripe rejected the refund", refund_id=refund.id
            )
        async with self._sessions() as session:
            payment = await session.get(Payment, refund.payment_id)
        assert payment is not None
        return refund, payment

    async def _open_refund(self, request_key: str, data: RefundIn) -> Refund:
        async with self._sessions() as session, session.begin():
            # The payment's row lock serialises refunds: two at once cannot both fit.
            payment = await repository.locked_payment(session, data.payment_id)
            if payment is None:
                raise PaymentNotFound(f"no payment {data.payment_id}")
            existing = await repository.refund_by_request(session, payment.id, request_key)
            if existing is not None:
                return existing
            if payment.status not in ("succeeded", "partially_refunded"):
                raise NotRefundable(
                    f"payment {payment.id} is {payment.status}; only captured payments refund",
                    status=payment.status,
                )
            refundable = payment.amount - await repository.committed_refunds(session, payment.id)
            amount = data.amount if data.amount is not None else refundable
            if refundable <= 0:
                raise NotRefundable(f"payment {payment.id} is already fully refunded")
            if amount > refundable:
                raise RefundExceedsCaptured(
                    f"at most {refundable} {payment.currency} can still be refunded",
                    refundable=refundable,
                )
            refund = Refund(
                payment_id=payment.id, request_key=request_key, amount=amount, reason=data.reason
            )
            session.add(refund)
            await session.flush()
            return refund

    async def _send_refund(self, refund: Refund) -> Refund:
        async with self._sessions() as session:
            payment = await session.get(Payment, refund.payment_id)
        assert payment is not None
        assert payment.transaction_id is not None
        try:
            state = await self._stripe.create_refund(
                refund_id=refund.id,
                intent_id=payment.transaction_id,
                amount=refund.amount,
                metadata={"refund_id": str(refund.id), "order_id": str(payment.order_id)},
            )
        except StripeRefused as exc:
            return await self._settle_refund(refund.id, RefundState("", "failed", exc.message))
        return await self._settle_refund(refund.id, state)

    async def _settle_refund(self, refund_id: int, state: RefundState) -> Refund:
        async with UnitOfWork(self._sessions, after_commit=self._after_commit) as uow:
            refund = await repository.locked_refund(uow.session, refund_id)
            assert refund is not None
            payment = await repository.locked_payment(uow.session, refund.payment_id)
            assert payment is not None
            if refund.stripe_refund_id is None and state.id:
                refund.stripe_refund_id = state.id
            if refund.status == "pending" and state.status in ("succeeded", "failed", "canceled"):
                self._finish_refund(uow, refund, payment, state)
            await uow.commit()
        return refund

    def _finish_refund(
        self, uow: UnitOfWork, refund: Refund, payment: Payment, state: RefundState
    ) -> None:
        if state.status != "succeeded":
            refund.status = "failed"
            refund.failure_reason = state.failure_reason or f"the refund is {state.status}"
            REFUND_OUTCOMES.labels("failed").inc()
            return
        refund.status = "succeeded"
        payment.refunded_amount += refund.amount
        payment.status = (
            "refunded" if payment.refunded_amount >= payment.amount else ("partially_refunded")
        )
        event = new_event(
            "payment_refunded",
            _payment_fields(payment)
            | {
                "refund_id": refund.id,
                "refund_amount": refund.amount,
                "refunded_amount": payment.refunded_amount,
                "reason": refund.reason,
            },
        )
        uow.publish(OutboxMessage(topology.PAYMENTS.name, str(payment.order_id), event))
        REFUND_OUTCOMES.labels("succeeded").inc()

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
        outcome: _Outcome | None
        if intent is None:
            outcome = _abandoned()  # no intent carries this payment: nothing was charged
        elif intent.status == "requires_confirmation":
            # Created unconfirmed and never confirmed; the caller has long given up: release it.
            intent = await self._stripe.cancel_intent(intent.id)
            outcome = _outcome_of(intent) or _abandoned()
            if outcome.failure_code == "canceled":
                outcome = _abandoned()
        else:
            outcome = _outcome_of(intent)
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
        outcome = _outcome_of(intent)
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

    # -- saved cards ---------------------------------------------------------------------

    async def save_card(self, user_id: int, payment_method: str) -> SavedCard:
        async with self._sessions() as session:
            existing = await repository.saved_card(session, user_id, payment_method)
            if existing is not None:
                return existing
            if await repository.card_owner(session, payment_method) is not None:
                # Saved by another user: refused before Stripe is asked to move it.
                raise InvalidPaymentMethod("this payment method belongs to someone else")
            if await repository.saved_card_count(session, user_id) >= MAX_SAVED_CARDS:
                raise InvalidPaymentMethod(f"at most {MAX_SAVED_CARDS} cards can be saved")
            customer = await repository.customer_of(session, user_id)
        if customer is None:
            customer = await self._new_customer(user_id)
        try:
            card = await self._stripe.attach_card(payment_method, customer)
        except StripeRefused as exc:
            raise InvalidPaymentMethod(exc.message, code=exc.code) from None
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(SavedCard)
                .values(
                    id=card.id,
                    user_id=user_id,
                    brand=card.brand,
                    last4=card.last4,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                )
                .on_conflict_do_nothing(index_elements=[SavedCard.id])
            )
            saved = await repository.saved_card(session, user_id, card.id)
        if saved is None:  # attached to this user's customer, yet saved by another user: never
            raise InvalidPaymentMethod("this payment method belongs to someone else")
        return saved

    async def _new_customer(self, user_id: int) -> str:
        created = await self._stripe.create_customer(user_id)
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(StripeCustomer)
                .values(user_id=user_id, customer_id=created)
                .on_conflict_do_nothing(index_elements=[StripeCustomer.user_id])
            )
            # A concurrent first save may have won: everyone uses the stored customer.
            customer = await repository.customer_of(session, user_id)
        assert customer is not None
        return customer

    async def cards(
        self, user_id: int, limit: int, cursor: str | None
    ) -> tuple[list[SavedCard], str | None]:
        async with self._sessions() as session:
            cards = await repository.saved_cards(session, user_id, limit + 1, cursor)
        if len(cards) > limit:
            return cards[:limit], cards[limit - 1].id
        return cards, None

    async def remove_card(self, user_id: int, card_id: str) -> None:
        async with self._sessions() as session:
            card = await repository.saved_card(session, user_id, card_id)
        if card is None:
            raise CardNotFound(f"no saved card {card_id}")
        try:
            await self._stripe.detach_card(card_id)
        except StripeRefused as exc:
            log.info("card %s was already detached at Stripe: %s", card_id, exc.message)
        async with self._sessions() as session, session.begin():
            await session.delete(await session.merge(card))
