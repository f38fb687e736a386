"""The ceiling for a CloudMart JSON endpoint: FastAPI on uvicorn answering a product-sized
document from memory, with none of the services' middleware, cache or database."""

from typing import Any

from fastapi import FastAPI

PRODUCT: dict[str, Any] = {
    "id": 1,
    "name": "Compact Headphones",
    "description": "Compact Headphones from the CloudMart demo catalog (electronics).",
    "price": 4.99,
    "category": "electronics",
    "stock_quantity": 120,
    "image_url": "https://placehold.co/400x300?text=ELE-00001",
    "sku": "ELE-00001",
    "created_at": "2026-11-28T05:00:42.840000Z",
    "updated_at": "2026-11-28T05:00:42.840000Z",
}


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/product")
    async def product() -> dict[str, Any]:
        return PRODUCT

    return app
