"""Domain errors of the products service (statuses from cloudmart_common.errors)."""

from cloudmart_common.errors import (
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    UnprocessableError,
)


class ProductNotFound(NotFoundError):
    title, slug = "Product not found", "product-not-found"


class DuplicateSku(ConflictError):
    title, slug = "SKU already used", "duplicate-sku"


class OutOfStock(ConflictError):
    title, slug = "Out of stock", "out-of-stock"


class ReservationConflict(ConflictError):
    title, slug = "Reservation differs", "reservation-conflict"


class ReservationNotFound(NotFoundError):
    title, slug = "Reservation not found", "reservation-not-found"


class InvalidCursor(UnprocessableError):
    title, slug = "Invalid cursor", "invalid-cursor"


class CatalogUnavailable(ServiceUnavailableError):
    title, slug = "Catalog unavailable", "catalog-unavailable"
