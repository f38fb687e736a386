"""Domain exceptions and the one table that maps them to HTTP status codes.

Services raise these (or their own subclasses: `class OutOfStock(ConflictError)`), never
HTTPException; `problem_details` renders them as RFC 9457 problem+json.
"""

from typing import Any


class DomainError(Exception):
    """A failure the caller can understand; `detail` is safe to show them."""

    title = "Request failed"
    slug = "request-failed"  # last segment of the problem `type` URI

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = extensions  # extra members of the problem document


class BadRequestError(DomainError):
    title, slug = "Bad request", "bad-request"


class UnauthorizedError(DomainError):
    title, slug = "Authentication required", "unauthorized"


class PaymentRequiredError(DomainError):
    title, slug = "Payment declined", "payment-declined"


class ForbiddenError(DomainError):
    title, slug = "Forbidden", "forbidden"


class NotFoundError(DomainError):
    title, slug = "Not found", "not-found"


class ConflictError(DomainError):
    title, slug = "Conflict", "conflict"


class UnprocessableError(DomainError):
    title, slug = "Unprocessable request", "unprocessable"


class TooManyRequestsError(DomainError):
    title, slug = "Too many requests", "rate-limited"


class ServiceUnavailableError(DomainError):
    title, slug = "Service unavailable", "service-unavailable"


# The one mapping: the first class in an exception's MRO found here gives its status.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    BadRequestError: 400,
    UnauthorizedError: 401,
    PaymentRequiredError: 402,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    UnprocessableError: 422,
    TooManyRequestsError: 429,
    ServiceUnavailableError: 503,
    DomainError: 400,
}


def status_for(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400
