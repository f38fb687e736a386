"""Domain errors of the orders service (statuses from cloudmart_common.errors)."""

from cloudmart_common.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PaymentRequiredError,
    UnprocessableError,
)


class OrderNotFound(NotFoundError):
    title, slug = "Order not found", "order-not-found"


class OutOfStock(ConflictError):
    title, slug = "Out of stock", "out-of-stock"


class PaymentDeclined(PaymentRequiredError):
    title, slug = "Payment declined", "payment-declined"


class UnknownProduct(UnprocessableError):
    title, slug = "Unknown product", "unknown-product"


class BuyerInactive(ForbiddenError):
    title, slug = "Account cannot order", "buyer-inactive"


class IllegalTransition(ConflictError):
    title, slug = "Status change not allowed", "illegal-transition"


class ConcurrentChange(ConflictError):
    title, slug = "Order changed meanwhile", "concurrent-change"


class PaymentInProgress(ConflictError):
    title, slug = "Payment still in progress", "payment-in-progress"
