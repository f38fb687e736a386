"""Routes of the payments service: parse, authorize, call the service layer, return a schema."""

from typing import Annotated

import stripe
from fastapi import APIRouter, Header, Path, Query, Request, status
from fastapi.responses import JSONResponse

from cloudmart_common.auth import AdminUser, CallerUserId, CurrentUser, MoneyMover, PaymentCharger
from cloudmart_common.idempotency import (
    IdempotencyKey,
    StoredResponse,
    answer_once,
)
from cloudmart_payments.dependencies import Idempotency, Payments, Stripe
from cloudmart_payments.errors import InvalidWebhook, PaymentDeclined, RefundRejected
from cloudmart_payments.models import Payment, Refund
from cloudmart_payments.schemas import (
    CardIn,
    CardOut,
    CardPage,
    Id,
    PaymentOut,
    ProcessIn,
    ReconcileOut,
    RefundIn,
    RefundOut,
    WebhookOut,
)
from cloudmart_payments.stripe_gateway import IntentState, RefundState

router = APIRouter(prefix="/api/payments", tags=["payments"])

# Stripe events we act on; every other type is acknowledged and ignored.
INTENT_EVENTS = frozenset(
    {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"}
)
REFUND_EVENTS = frozenset({"refund.updated", "refund.failed", "charge.refund.updated"})


def _payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut.model_validate(payment)


def _refund_out(refund: Refund, payment: Payment) -> RefundOut:
    return RefundOut(
        id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        reason=refund.reason,
        status=refund.status,
        failure_reason=refund.failure_reason,
        created_at=refund.created_at,
        payment=_payment_out(payment),
    )


@router.post(
    "/process",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses={
        202: {"model": PaymentOut, "description": "Still processing at Stripe: settled later"},
        402: {"description": "Declined: the payment is `failed`, nothing was charged"},
        409: {
            "description": "The order already has a payment for another amount, currency, "
            "method or buyer; or the first request with this Idempotency-Key still runs"
        },
        422: {
            "description": "Validation failed, a currency not accepted, or the Idempotency-Key "
            "was used with another body"
        },
        503: {"description": "Stripe did not answer: the payment stays `pending`; retry"},
    },
)
async def process(
    body: ProcessIn,
    request: Request,
    key: IdempotencyKey,
    caller: PaymentCharger,
    payments: Payments,
    idempotency: Idempotency,
) -> JSONResponse:
    """Charge an order (the orders service's saga). 201 charged, 402 declined, 202 still
    processing at Stripe (settled later by webhook or reconciliation)."""

    async def charge() -> StoredResponse:
        payment = await payments.process(body)
        code = status.HTTP_201_CREATED if payment.status != "pending" else status.HTTP_202_ACCEPTED
        return StoredResponse(code, _payment_out(payment).model_dump(mode="json"))

    return await answer_once(
        idempotency,
        operation="payments.process",
        caller=caller.subject,
        key=key,
        body=body,
        run=charge,
        final_errors=(PaymentDeclined,),
        instance=request.url.path,
    )


@router.post(
    "/refund",
    status_code=status.HTTP_201_CREATED,
    response_model=RefundOut,
    responses={
        403: {"description": "Neither an admin nor the orders service"},
        404: {"description": "No such payment"},
        409: {
            "description": "The payment failed or is fully refunded; or the first request with "
            "this Idempotency-Key still runs"
        },
        422: {
            "description": "Validation failed, more than is left (`refundable`), Stripe refused, "
            "or the Idempotency-Key was used with another body"
        },
    },
)
async def refund(
    body: RefundIn,
    request: Request,
    key: IdempotencyKey,
    caller: MoneyMover,
    payments: Payments,
    idempotency: Idempotency,
) -> JSONResponse:
    """Refund all that is left (no `amount`) or part of a payment; admins and the orders service."""

    async def give_back() -> StoredResponse:
        refund, payment = await payments.refund(f"{caller.subject}:{key}", body)
        out = _refund_out(refund, payment)
        return StoredResponse(status.HTTP_201_CREATED, out.model_dump(mode="json"))

    return await answer_once(
        idempotency,
        operation="payments.refund",
        caller=caller.subject,
        key=key,
        body=body,
        run=give_back,
        final_errors=(RefundRejected,),
        instance=request.url.path,
    )


@router.post("/reconcile", response_model=ReconcileOut)
async def reconcile(admin: AdminUser, payments: Payments) -> ReconcileOut:
    """Settle now what a crash or an outage left pending (the service also does it on its own)."""
    return ReconcileOut(settled=await payments.reconcile())


@router.post(
    "/webhook",
    response_model=WebhookOut,
    responses={400: {"description": "The Stripe-Signature does not match the payload"}},
)
async def webhook(
    request: Request,
    payments: Payments,
    gateway: Stripe,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookOut:
    """Stripe's asynchronous news, verified by signature. Replays are harmless."""
    try:
        event = gateway.verify_webhook(await request.body(), stripe_signature)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidWebhook("the Stripe-Signature header does not match the payload") from exc
    if event.type in INTENT_EVENTS:
        handled = await payments.on_intent_event(IntentState.of(event.data.object))  # type: ignore[arg-type]
    elif event.type in REFUND_EVENTS:
        handled = await payments.on_refund_event(RefundState.of(event.data.object))  # type: ignore[arg-type]
    else:
        handled = False
    return WebhookOut(handled=handled)


@router.get(
    "/methods",
    response_model=CardPage,
    responses={403: {"description": "A service token: saved cards belong to users"}},
)
async def list_cards(
    user_id: CallerUserId,
    payments: Payments,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=255)] = None,
) -> CardPage:
    cards, next_cursor = await payments.cards(user_id, limit, cursor)
    return CardPage(items=[CardOut.model_validate(card) for card in cards], next_cursor=next_cursor)


@router.post(
    "/methods",
    status_code=status.HTTP_201_CREATED,
    response_model=CardOut,
    responses={
        403: {"description": "A service token: saved cards belong to users"},
        422: {
            "description": "Validation failed, or the payment method is unknown, someone "
            "else's, or one too many (20 at most)"
        },
    },
)
async def save_card(body: CardIn, user_id: CallerUserId, payments: Payments) -> CardOut:
    """Save a card (a PaymentMethod made with Stripe.js) to the caller's Stripe Customer."""
    return CardOut.model_validate(await payments.save_card(user_id, body.payment_method))


@router.delete(
    "/methods/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={403: {"description": "A service token: saved cards belong to users"}},
)
async def remove_card(
    card_id: Annotated[str, Path(max_length=255)], user_id: CallerUserId, payments: Payments
) -> None:
    await payments.remove_card(user_id, card_id)


@router.get("/order/{order_id:int}", response_model=PaymentOut)
async def payment_of_order(
    order_id: Annotated[Id, Path()], user: CurrentUser, payments: Payments
) -> PaymentOut:
    return _payment_out(await payments.for_order(user, order_id))


@router.get("/{payment_id:int}", response_model=PaymentOut)
async def get_payment(
    payment_id: Annotated[Id, Path()], user: CurrentUser, payments: Payments
) -> PaymentOut:
    return _payment_out(await payments.get(user, payment_id))
