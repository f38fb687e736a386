"""Domain errors of the payments service (statuses from cloudmart_common.errors)."""

from cloudmart_common.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    ServiceUnavailableError,
    UnprocessableError,
)


class PaymentDeclined(PaymentRequiredError):
    title, slug = "Payment declined", "payment-declined"


class PaymentsUnavailable(ServiceUnavailableError):
    title, slug = "Payments unavailable", "payments-unavailable"


class PaymentNotFound(NotFoundError):
    title, slug = "Payment not found", "payment-not-found"


class PaymentMismatch(ConflictError):
    """The order already has a payment, for another amount, currency, method or buyer."""

    title, slug = "Order already has another payment", "payment-mismatch"


class UnsupportedCurrency(UnprocessableError):
    title, slug = "Currency not supported", "unsupported-currency"


class NotRefundable(ConflictError):
    title, slug = "Payment cannot be refunded", "not-refundable"


class RefundExceedsCaptured(UnprocessableError):
    title, slug = "Refund exceeds what was captured", "refund-exceeds-captured"


class RefundRejected(UnprocessableError):
    title, slug = "Refund rejected by Stripe", "refund-rejected"


class InvalidPaymentMethod(UnprocessableError):
    title, slug = "Payment method not usable", "invalid-payment-method"


class CardNotFound(NotFoundError):
    title, slug = "Saved card not found", "card-not-found"


class InvalidWebhook(BadRequestError):
    title, slug = "Webhook signature invalid", "invalid-webhook-signature"
