"""The Lambda: an S3 ObjectCreated event -> the file validated and upserted by SKU, a report.

Idempotent, as S3 delivers at least once: a row equal to what is stored writes nothing, so
importing the same file again changes nothing.
"""

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import aioboto3
from redis.asyncio import Redis

from cloudmart_products import catalog_cache
from cloudmart_products.catalog_import.rows import Rejected, parse
from cloudmart_products.catalog_import.settings import Settings
from cloudmart_products.repository import ProductTable
from cloudmart_products.schemas import ProductIn
from cloudmart_products.table import dynamodb_client

log = logging.getLogger(__name__)
# What a row can change in a product that exists. Its stock is not among them: the file's stock is
# a new product's initial stock, and after that stock moves only by reservations and the stock
# endpoint, which an import racing them would undo.
CATALOG_FIELDS = ("name", "description", "price", "category", "image_url")


@dataclass
class ImportReport:
    bucket: str
    key: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None


def _changes(stored: dict[str, Any], row: ProductIn) -> dict[str, Any]:
    wanted = row.model_dump()
    return {name: wanted[name] for name in CATALOG_FIELDS if stored.get(name) != wanted[name]}


async def _upsert(table: ProductTable, row: ProductIn, report: ImportReport) -> int | None:
    """The id of the product created or updated; None when the row changed nothing."""
    stored = await table.by_sku(row.sku)
    if stored is None:
        product_id: int = await table.next_id()
        await table.create({"id": product_id, **row.model_dump()})
        report.created.append(row.sku)
        return product_id
    changes = _changes(stored, row)
    if not changes:
        report.unchanged.append(row.sku)
        return None
    await table.update(int(stored["id"]), changes)
    report.updated.append(row.sku)
    return int(stored["id"])


async def import_object(settings: Settings, bucket: str, key: str) -> ImportReport:
    report = ImportReport(bucket, key)
    session = aioboto3.Session()
    async with (
        session.client(
            "s3",
            region_name=settings.aws_region,
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=(
                settings.aws_secret_access_key.get_secret_value()
                if settings.aws_secret_access_key
                else None
            ),
        ) as s3,
        dynamodb_client(settings) as dynamodb,
    ):
        obj = await s3.get_object(Bucket=bucket, Key=key)
        body = await obj["Body"].read()
        try:
            good, report.rejected = parse(key, body)
        except (ValueError, UnicodeDecodeError) as exc:
            report.error = str(exc)
            good = []
        table = ProductTable(dynamodb, settings.products_table)
        changed_ids = [
            product_id
            for _, row in good
            if (product_id := await _upsert(table, row, report)) is not None
        ]
        await _invalidate_cache(settings, changed_ids)
        await s3.put_object(
            Bucket=bucket,
            Key=f"reports/{key}.json",
            Body=json.dumps(asdict(report), indent=2).encode(),
            ContentType="application/json",
        )
    log.info(
        "imported %s: %d created, %d updated, %d unchanged, %d rejected",
        key,
        len(report.created),
        len(report.updated),
        len(report.unchanged),
        len(report.rejected),
    )
    return report


async def _invalidate_cache(settings: Settings, product_ids: list[int]) -> None:
    # The products service caches products for an hour and pages until the catalog changes:
    # its own invalidation, so a new or changed product is on the very next read.
    if not product_ids:
        return
    redis = Redis.from_url(settings.redis_url, socket_timeout=3)
    try:
        await catalog_cache.invalidate(redis, product_ids, listings=True)
    finally:
        await redis.aclose()


async def import_event(settings: Settings, event: dict[str, Any]) -> list[ImportReport]:
    """Every object of an S3 event; `s3:TestEvent` (no Records) is ignored."""
    reports = []
    for record in event.get("Records", []):
        if not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])  # keys arrive URL-encoded
        if key.startswith("reports/"):
            continue
        reports.append(await import_object(settings, bucket, key))
    return reports


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The AWS Lambda entry point."""
    reports = asyncio.run(import_event(Settings(), event))
    return {"reports": [asdict(report) for report in reports]}
