"""Routes of the orders service: parse, authorize, call the service layer, return a schema."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from cloudmart_common import scopes
from cloudmart_common.auth import AdminUser, CallerUserId, CurrentUser
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.idempotency import (
    IdempotencyKey,
    StoredResponse,
    answer_once,
    stored_problem,
)
from cloudmart_orders.dependencies import Idempotency, Orders
from cloudmart_orders.errors import OrderNotFound
from cloudmart_orders.models import Order
from cloudmart_orders.schemas import (
    CancelIn,
    Id,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderPage,
    Status,
    StatusIn,
)

router = APIRouter(prefix="/api/orders", tags=["orders"])

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=20)]


def _detail(order: Order) -> OrderDetailOut:
    return OrderDetailOut.model_validate(order)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderDetailOut,
    responses={
        202: {
            "model": OrderDetailOut,
            "description": "Paid at Stripe later (still processing); the order is `pending`",
        },
        402: {"description": "Declined: the order is `cancelled`, its stock released"},
        403: {"description": "The buyer's account cannot order, or a service token (no buyer)"},
        409: {
            "description": "Out of stock: the order is `cancelled`, nothing was charged; or the "
            "first request with this Idempotency-Key is still running"
        },
        422: {
            "description": "Validation failed, an unknown product, or the Idempotency-Key was "
            "used with another body"
        },
        503: {"description": "A service was unavailable: undone; try again with the same key"},
    },
)
async def place_order(
    body: OrderIn,
    request: Request,
    key: IdempotencyKey,
    user: CurrentUser,
    buyer_id: CallerUserId,  # orders are placed by users: a service token is a 403
    orders: Orders,
    idempotency: Idempotency,
) -> JSONResponse:
    """Checkout: price from the catalog, reserve stock, charge; all or nothing."""

    async def checkout() -> StoredResponse:
        outcome = await orders.place(buyer_id, body, key)
        if isinstance(outcome.refusal, UpstreamUnavailable):
            raise outcome.refusal  # not stored: the same key may try again
        if outcome.refusal is not None:
            return stored_problem(outcome.refusal, request.url.path)
        code = 202 if outcome.order.status == "pending" else 201
        return StoredResponse(code, _detail(outcome.order).model_dump(mode="json"))

    # The bulkhead covers the Idempotency-Key claim too: a burst waits here, in the process,
    # instead of queueing on the database pool.
    async with orders.checkouts:
        return await answer_once(
            idempotency,
            operation="orders.place",
            caller=user.subject,
            key=key,
            body=body,
            run=checkout,
            instance=request.url.path,
        )


@router.get("", response_model=OrderPage, responses={400: {"description": "An invalid cursor"}})
async def all_orders(
    admin: AdminUser,
    orders: Orders,
    status_filter: Annotated[Status | None, Query(alias="status")] = None,
    user_id: Annotated[Id | None, Query()] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> OrderPage:
    """Every order, newest first (admins)."""
    page, next_cursor = await orders.page(
        user_id=user_id, status=status_filter, limit=limit, cursor=cursor
    )
    return OrderPage(items=[OrderOut.model_validate(o) for o in page], next_cursor=next_cursor)


@router.get(
    "/user/{user_id:int}",
    response_model=OrderPage,
    responses={400: {"description": "An invalid cursor"}},
)
async def orders_of_user(
    user_id: Annotated[Id, Path()],
    user: CurrentUser,
    orders: Orders,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> OrderPage:
    """A user's orders, newest first: the user themself or an admin."""
    if not user.may_see(user_id, scopes.ORDERS_READ):
        raise OrderNotFound(f"no orders of user {user_id} visible to you")
    page, next_cursor = await orders.page(user_id=user_id, status=None, limit=limit, cursor=cursor)
    return OrderPage(items=[OrderOut.model_validate(o) for o in page], next_cursor=next_cursor)


@router.get("/{order_id:int}", response_model=OrderDetailOut)
async def get_order(order_id: Annotated[Id, Path()], user: CurrentUser, orders: Orders) -> Order:
    return await orders.get(user, order_id)


@router.patch(
    "/{order_id:int}/status",
    response_model=OrderDetailOut,
    responses={
        409: {
            "description": "Not allowed from the current status (`illegal-transition`), the "
            "payment is still in progress, or the order changed meanwhile"
        }
    },
)
async def change_status(
    order_id: Annotated[Id, Path()], body: StatusIn, admin: AdminUser, orders: Orders
) -> Order:
    """pending -> processing (payment only) -> shipped -> delivered; cancelled from pending or
    processing (a paid order is refunded). Anything else is a 409."""
    return await orders.change_status(admin, order_id, body.status, body.reason)


@router.delete(
    "/{order_id:int}",
    response_model=OrderDetailOut,
    responses={
        409: {
            "description": "Shipped, delivered or cancelled already, or the payment is still "
            "in progress"
        }
    },
)
async def cancel_order(
    order_id: Annotated[Id, Path()],
    user: CurrentUser,
    orders: Orders,
    body: CancelIn | None = None,
) -> Order:
    """Cancel (the owner or an admin): stock released, a paid order refunded in full."""
    return await orders.cancel(user, order_id, body.reason if body else None)
