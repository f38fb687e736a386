"""Refunds within what was captured, each one Stripe call between two durable steps."""

from prometheus_client import Counter

from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_payments import events, repository
from cloudmart_payments.errors import (
    NotRefundable,
    PaymentNotFound,
    RefundExceedsCaptured,
    RefundRejected,
)
from cloudmart_payments.models import Payment, Refund
from cloudmart_payments.schemas import RefundIn
from cloudmart_payments.service.base import ServiceBase
from cloudmart_payments.stripe_gateway import (
    RefundState,
    StripeRefused,
)

REFUND_OUTCOMES = Counter("refunds_total", "Refunds settled", ["outcome"])


class Refunds(ServiceBase):
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
        uow.publish(events.refunded(payment, refund))
        REFUND_OUTCOMES.labels("succeeded").inc()
