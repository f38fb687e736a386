"""Category listings and SKU lookups are served by their GSIs, never by a table scan."""

from typing import Any

from cloudmart_products.repository import Filters, ProductTable
from cloudmart_products.settings import Settings
from cloudmart_products.table import dynamodb_client


class Recorder:
    """Passes every call to the real emulator client and notes the operation and index."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, str | None]] = []

    def __getattr__(self, operation: str) -> Any:
        real = getattr(self._client, operation)

        async def call(**request: Any) -> Any:
            self.calls.append((operation, request.get("IndexName")))
            return await real(**request)

        return call


async def test_category_pages_query_the_category_index() -> None:
    settings = Settings()
    async with dynamodb_client(settings) as client:
        recorder = Recorder(client)
        table = ProductTable(recorder, settings.products_table)
        filters = Filters(category="books", in_stock=True)
        ids, cursor = await table.page_ids(filters, 5, None)
        while cursor:
            _, cursor = await table.page_ids(filters, 5, cursor)
    assert ids
    assert recorder.calls
    assert set(recorder.calls) == {("query", "category-index")}


async def test_sku_lookups_query_the_sku_index() -> None:
    settings = Settings()
    async with dynamodb_client(settings) as client:
        recorder = Recorder(client)
        table = ProductTable(recorder, settings.products_table)
        product = await table.by_sku("BOO-00031")
    assert product is not None
    assert product["category"] == "books"
    assert recorder.calls == [("query", "sku-index")]
