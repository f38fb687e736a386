"""Reading a catalog file (CSV or JSON) into numbered rows, each validated like the API's input."""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cloudmart_products.schemas import ProductIn

COLUMNS = ("sku", "name", "description", "price", "category", "stock_quantity", "image_url")


@dataclass(frozen=True)
class Rejected:
    row: int  # 1-based, as a person counts in a spreadsheet (the CSV header is row 1)
    reason: str


def _records(key: str, body: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    text = body.decode("utf-8-sig")
    if key.lower().endswith(".json"):
        document = json.loads(text)
        items = document.get("products") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise ValueError('a JSON catalog is a list of products, or {"products": [...]}')
        yield from ((number, item) for number, item in enumerate(items, start=1))
        return
    reader = csv.DictReader(io.StringIO(text))
    missing = set(COLUMNS) - {"description", "image_url"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"the CSV header lacks {', '.join(sorted(missing))}")
    for number, row in enumerate(reader, start=2):
        yield number, {name: value for name, value in row.items() if value not in (None, "")}


def _typed(name: str, value: object) -> object:
    """A CSV cell is text: the stock count it spells becomes the integer the API takes (the
    API, like the JSON lines, takes no count as a string)."""
    if name == "stock_quantity" and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def parse(key: str, body: bytes) -> tuple[list[tuple[int, ProductIn]], list[Rejected]]:
    """Good rows and rejected ones; a file that cannot be read at all raises ValueError."""
    good: list[tuple[int, ProductIn]] = []
    rejected: list[Rejected] = []
    seen_skus: dict[str, int] = {}
    for number, record in _records(key, body):
        if not isinstance(record, dict):
            rejected.append(Rejected(number, "not an object"))
            continue
        try:
            product = ProductIn.model_validate(
                {name: _typed(name, record[name]) for name in COLUMNS if name in record}
            )
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            rejected.append(Rejected(number, reasons))
            continue
        if product.sku in seen_skus:
            rejected.append(Rejected(number, f"sku repeats row {seen_skus[product.sku]}"))
            continue
        seen_skus[product.sku] = number
        good.append((number, product))
    return good, rejected
