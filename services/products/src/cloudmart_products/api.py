"""Routes of the products service: parse, authorize, call the catalog, return a schema."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import WithJsonSchema

from cloudmart_common.auth import AdminUser, StockReserver
from cloudmart_common.db import RowId
from cloudmart_products.dependencies import Products
from cloudmart_products.repository import Filters
from cloudmart_products.schemas import (
    CategoriesOut,
    CategoryCount,
    CategoryQuery,
    PriceOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductUpdate,
    ReservationIn,
    ReservationLine,
    ReservationOut,
    StockChange,
)

# Ids start at 1: the item at 0 is the id counter, which no route may read or change.
ProductId = Annotated[RowId, Path()]

router = APIRouter(prefix="/api/products", tags=["products"])
internal = APIRouter(prefix="/internal/reservations", tags=["internal"])

# The list's query parameters, which fast_reads accepts only within these same bounds.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_CURSOR_LENGTH = 1000
MAX_PRICE = Decimal("99999999.99")
# A price filter as the document states it: a number (pydantic would also take any decimal
# string, and says so, so `max_price=` looked valid and was refused).
PriceBound = Annotated[
    Decimal, WithJsonSchema({"type": "number", "minimum": 0, "maximum": float(MAX_PRICE)})
]
MAX_SEARCH_LENGTH = 100


def _out(product: dict[str, Any]) -> ProductOut:
    return ProductOut.model_validate(product)


def _json(body: bytes) -> Response:
    # The catalog hands out the public JSON it cached; a Response skips FastAPI validating
    # and serializing it again on every read, while `response_model` still documents it.
    return Response(body, media_type="application/json")


# A cached page or product is answered before FastAPI (fast_reads), with the bytes and
# headers these two routes send; misses and other queries reach them.
@router.get("", response_model=ProductPage)
async def list_products(
    catalog: Products,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    category: Annotated[CategoryQuery | None, Query()] = None,
    min_price: Annotated[PriceBound | None, Query(ge=0, le=MAX_PRICE)] = None,
    max_price: Annotated[PriceBound | None, Query(ge=0, le=MAX_PRICE)] = None,
    in_stock: bool = False,
    q: Annotated[str | None, Query(min_length=1, max_length=MAX_SEARCH_LENGTH)] = None,
) -> Response:
    """A page of products. Order: DynamoDB key order (stable between pages, not by name or
    price); with `category` the category-index is queried, never scanned."""
    filters = Filters(category, min_price, max_price, in_stock, q)
    return _json(await catalog.page_json(filters, limit, cursor))


@router.get("/categories", response_model=CategoriesOut)
async def categories(catalog: Products) -> CategoriesOut:
    counts = await catalog.category_counts()
    return CategoriesOut(
        items=[CategoryCount(category=name, product_count=n) for name, n in sorted(counts.items())]
    )


@router.get("/sku/{sku}", response_model=ProductOut)
async def by_sku(sku: str, catalog: Products) -> ProductOut:
    return _out(await catalog.by_sku(sku))


@router.get("/{product_id:int}", response_model=ProductOut)
async def get_product(product_id: ProductId, catalog: Products) -> Response:
    return _json(await catalog.product_json(product_id))


@router.get("/{product_id:int}/price", response_model=PriceOut)
async def get_price(product_id: ProductId, catalog: Products) -> Response:
    """The product's name and price, as a checkout prices an order: cached apart from the
    stock, so it stays cached through sales."""
    return _json(await catalog.price_json(product_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductOut,
    responses={409: {"description": "The SKU is already used"}},
)
async def create_product(body: ProductIn, admin: AdminUser, catalog: Products) -> ProductOut:
    return _out(await catalog.create(body))


@router.put("/{product_id:int}", response_model=ProductOut)
async def update_product(
    product_id: ProductId, body: ProductUpdate, admin: AdminUser, catalog: Products
) -> ProductOut:
    return _out(await catalog.update(product_id, body))


@router.delete("/{product_id:int}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_product(product_id: ProductId, admin: AdminUser, catalog: Products) -> None:
    await catalog.delete(product_id)


@router.patch(
    "/{product_id:int}/stock",
    response_model=ProductOut,
    responses={409: {"description": "The stock would go below zero"}},
)
async def change_stock(
    product_id: ProductId, body: StockChange, admin: AdminUser, catalog: Products
) -> ProductOut:
    return _out(await catalog.change_stock(product_id, body))


def _reservation_out(record: dict[str, Any]) -> ReservationOut:
    return ReservationOut(
        order_id=record["order_id"],
        status=record["status"],
        lines=[ReservationLine(product_id=p, quantity=q) for p, q in record["lines"]],
    )


@internal.post(
    "",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ReservationOut, "description": "Reserved before: nothing changed"},
        409: {
            "description": "Not enough stock (`product_ids` names the short products), or "
            "the order already holds a different reservation"
        },
    },
)
async def reserve(
    body: ReservationIn, caller: StockReserver, catalog: Products, response: Response
) -> ReservationOut:
    """All lines or none (409 out-of-stock names the short products); a repeat is a 200."""
    record, created = await catalog.reserve(body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _reservation_out(record)


@internal.post("/{order_id}/release", response_model=ReservationOut)
async def release(order_id: str, caller: StockReserver, catalog: Products) -> ReservationOut:
    """Gives back exactly what the order reserved, once; a repeat changes nothing."""
    return _reservation_out(await catalog.release(order_id))
