"""`python -m cloudmart_products.catalog_import.poller`: the local stand-in for S3 -> Lambda.

moto cannot run Lambdas without Docker, but it delivers S3 events to SQS in the same process:
this poller receives them and calls the very handler the Lambda runs. At start it (re)creates
the bucket, the queue and the bucket's notification, since the emulator keeps nothing.
"""

import asyncio
import json
import logging
from typing import Any

import aioboto3

from cloudmart_products.catalog_import.handler import import_event
from cloudmart_products.catalog_import.settings import Settings

log = logging.getLogger("cloudmart_products.catalog_import.poller")


def _client(session: aioboto3.Session, service: str, settings: Settings) -> Any:
    secret = settings.aws_secret_access_key
    return session.client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )


async def ensure_wiring(s3: Any, sqs: Any, settings: Settings) -> str:
    """Bucket, queue and ObjectCreated notification for `incoming/`; returns the queue URL."""
    buckets = {bucket["Name"] for bucket in (await s3.list_buckets())["Buckets"]}
    if settings.import_bucket not in buckets:
        await s3.create_bucket(Bucket=settings.import_bucket)
    queue_url: str = (await sqs.create_queue(QueueName=settings.import_queue))["QueueUrl"]
    attributes = await sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    await s3.put_bucket_notification_configuration(
        Bucket=settings.import_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "catalog-import",
                    "QueueArn": attributes["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [{"Name": "prefix", "Value": settings.import_prefix}]
                        }
                    },
                }
            ]
        },
    )
    return queue_url


async def poll(settings: Settings) -> None:
    session = aioboto3.Session()
    async with _client(session, "s3", settings) as s3, _client(session, "sqs", settings) as sqs:
        queue_url = await ensure_wiring(s3, sqs, settings)
        print(
            f"catalog import: watching s3://{settings.import_bucket}/{settings.import_prefix}",
            flush=True,
        )
        while True:
            answer = await sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=10
            )
            for message in answer.get("Messages", []):
                try:
                    for report in await import_event(settings, json.loads(message["Body"])):
                        print(
                            f"imported {report.key}: {len(report.created)} created, "
                            f"{len(report.updated)} updated, {len(report.unchanged)} "
                            f"unchanged, {len(report.rejected)} rejected",
                            flush=True,
                        )
                except Exception:
                    # Left on the queue: SQS redelivers it after the visibility timeout.
                    log.exception("import failed; the event will be retried")
                    continue
                await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


async def run(settings: Settings) -> None:
    """Poll forever; an emulator restart (state lost) is met by wiring everything again."""
    while True:
        try:
            await poll(settings)
        except Exception as exc:
            log.warning("catalog import paused: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(2)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run(Settings()))
