"""What each service may ask of the others: the scopes of service tokens (OAuth 2.0 `scope`).

The users service puts a client's grants into every token it issues to it; each internal route
names the scope it accepts (`auth.service_with`). A service without the grant gets a 403 there,
whatever else its token proves. One table, read by the issuer, the routes and the tests.
"""

from collections.abc import Mapping

USERS_READ = "users:read"  # GET /internal/users/{id}: a buyer's status and contact
STOCK_RESERVE = "stock:reserve"  # POST /internal/reservations, .../{order_id}/release
PAYMENTS_CHARGE = "payments:charge"  # POST /api/payments/process, refunds
PAYMENTS_READ = "payments:read"  # any buyer's payments
ORDERS_READ = "orders:read"  # any buyer's orders
NOTIFICATIONS_SEND = "notifications:send"  # POST /api/notifications/send

ALL = frozenset(
    {USERS_READ, STOCK_RESERVE, PAYMENTS_CHARGE, PAYMENTS_READ, ORDERS_READ, NOTIFICATIONS_SEND}
)

# Who calls whom today: the order saga reads the buyer, reserves stock, charges, refunds and
# reads its payment back; the notifier reads contacts. Nobody else calls another service, so
# nobody else holds a scope.
GRANTS: Mapping[str, frozenset[str]] = {
    "orders": frozenset({USERS_READ, STOCK_RESERVE, PAYMENTS_CHARGE, PAYMENTS_READ}),
    "notifications": frozenset({USERS_READ}),
}


def granted(service: str) -> frozenset[str]:
    return GRANTS.get(service, frozenset())
