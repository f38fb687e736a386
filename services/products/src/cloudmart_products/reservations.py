"""The reservations table: each order's hold on stock, written in one DynamoDB transaction
with the stock it takes or gives back, so that a hold and its stock never part."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from cloudmart_common.events import utc_timestamp
from cloudmart_products.repository import error_code, to_item

_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Reserved:
    outcome: Literal["reserved", "repeat", "short"]
    short: list[int] = field(default_factory=list)  # the products without enough stock
    # Some product may have sold out: conservative, a false alarm only costs cached pages.
    may_have_sold_out: bool = False
    # Some product may have reached the low-stock threshold: its flag is to be checked.
    may_be_low: bool = False
    # The record written, as `reservation()` would read it back (only when "reserved").
    record: dict[str, Any] | None = None


class ReservationTable:
    def __init__(self, client: Any, products_table: str, reservations_table: str) -> None:
        self._client = client
        self._products = products_table
        self._reservations = reservations_table

    async def reservation(self, order_id: str) -> dict[str, Any] | None:
        answer = await self._client.get_item(
            TableName=self._reservations, Key={"order_id": {"S": order_id}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return _record(item) if item else None

    async def reserve(
        self, order_id: str, lines: Sequence[tuple[int, int]], *, low_stock_threshold: int
    ) -> Reserved:
        """Every line or none; a repeated order id is a "repeat" (the caller compares lines).

        A transaction returns no values, so where a sale left stock is asked of DynamoDB
        itself: first with every line required to stay above the low-stock threshold, which
        is the common sale and proves no product became low or sold out (nothing to read
        back, no page to drop); failing that, to leave one unit; only then as it must.
        """
        first = await self._reserve(order_id, lines, floor_after=low_stock_threshold + 1)
        if first.outcome != "short":
            return first
        second = await self._reserve(order_id, lines, floor_after=1)
        if second.outcome != "short":
            return replace(second, may_be_low=second.outcome == "reserved")
        third = await self._reserve(order_id, lines, floor_after=0)
        if third.outcome != "reserved":
            return third
        return replace(third, may_have_sold_out=True, may_be_low=True)

    async def _reserve(
        self, order_id: str, lines: Sequence[tuple[int, int]], *, floor_after: int
    ) -> Reserved:
        record = {
            "order_id": order_id,
            "status": "reserved",
            "lines": json.dumps([[product, quantity] for product, quantity in lines]),
            "reserved_at": utc_timestamp(),
        }
        item_of_record = to_item(record)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._reservations,
                    "Item": item_of_record,
                    # The idempotency of a repeated reserve: one record per order, ever.
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            }
        ]
        items += [
            {
                "Update": {
                    "TableName": self._products,
                    "Key": {"id": {"N": str(product)}},
                    "UpdateExpression": "SET stock_quantity = stock_quantity - :q",
                    "ConditionExpression": "attribute_exists(id) AND stock_quantity >= :need",
                    "ExpressionAttributeValues": {
                        ":q": {"N": str(quantity)},
                        ":need": {"N": str(quantity + floor_after)},
                    },
                }
            }
            for product, quantity in lines
        ]
        try:
            await self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            codes = [reason.get("Code") for reason in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                return Reserved("repeat")  # this order has a record: the caller compares lines
            short = [
                product
                for (product, _), code in zip(lines, codes[1:], strict=False)
                if code == "ConditionalCheckFailed"
            ]
            return Reserved("short", short or [product for product, _ in lines])
        # What was just written: no read-back (one DynamoDB call less per order).
        return Reserved("reserved", record=_record(item_of_record))

    async def release(self, order_id: str, lines: Sequence[tuple[int, int]]) -> bool | None:
        """Give back what the order reserved, once: None when it was already released, else
        whether some product may have come back in stock (asked of DynamoDB as in `reserve`:
        first with every product required to hold stock already)."""
        first = await self._release(order_id, lines, in_stock_before=True)
        if first != "product":
            return False if first == "released" else None
        return True if await self._release(order_id, lines, in_stock_before=False) else None

    async def _release(
        self, order_id: str, lines: Sequence[tuple[int, int]], *, in_stock_before: bool
    ) -> Literal["released", "record", "product"]:
        """Done, or whose condition failed: the record's (released before) or a product's."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._reservations,
                    "Key": {"order_id": {"S": order_id}},
                    "UpdateExpression": "SET #status = :released, released_at = :now",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":released": {"S": "released"},
                        ":reserved": {"S": "reserved"},
                        ":now": {"S": utc_timestamp()},
                    },
                }
            }
        ]
        # A product deleted since is not resurrected as a stock-only item.
        condition = "attribute_exists(id)"
        values: dict[str, Any] = {}
        if in_stock_before:
            condition += " AND stock_quantity > :zero"
            values[":zero"] = {"N": "0"}
        items += [
            {
                "Update": {
                    "TableName": self._products,
                    "Key": {"id": {"N": str(product)}},
                    "UpdateExpression": "SET stock_quantity = stock_quantity + :q",
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values | {":q": {"N": str(quantity)}},
                }
            }
            for product, quantity in lines
        ]
        try:
            await self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            return "record" if codes and codes[0] == "ConditionalCheckFailed" else "product"
        return "released"


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: _deserializer.deserialize(value) for key, value in item.items()}
    values["lines"] = [(int(p), int(q)) for p, q in json.loads(values["lines"])]
    return values
