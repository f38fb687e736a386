"""The analytics job's sustained throughput, replaying a pre-filled topic of order events.

    .venv/bin/python -m bench.flink_throughput [--events 200000]

Fills a scratch topic (3 partitions) with synthetic `order_created` events, runs the job's jar
on it (5 s windows, at-least-once, its own output topic and Flink UI port), and measures from
the first to the last window result: events per second the job consumed. Checks that the
windows add up to every event. Writes bench/results/flink_throughput.json; cleans up after.
"""

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cloudmart_local.layout import KAFKA_PORT, TOOLS

BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"
JAR = TOOLS / "analytics" / "order-analytics.jar"
RESULTS = Path(__file__).parent / "results"
REGIONS = ["us-east", "us-west", "eu-west", "eu-central", "ap-south"]


def _event(order_id: int, moment: datetime, rng: random.Random) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        product = min(int(rng.paretovariate(1.2)), 200)
        items.append(
            {
                "product_id": product,
                "product_name": f"Product {product}",
                "quantity": rng.randint(1, 3),
                "price": round(5 + product * 0.5, 2),
            }
        )
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "order_created",
        "event_version": 1,
        "order_id": order_id,
        "user_id": rng.randint(1, 5000),
        "total_amount": round(sum(i["quantity"] * i["price"] for i in items), 2),
        "currency": "USD",
        "status": "pending",
        "items": items,
        "shipping_region": rng.choice(REGIONS),
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


async def _fill(topic: str, count: int) -> float:
    rng = random.Random(42)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20, max_batch_size=262144)
    await producer.start()
    revenue = 0.0
    try:
        for order_id in range(1, count + 1):
            event = _event(order_id, start + timedelta(milliseconds=order_id), rng)
            revenue += event["total_amount"]
            await producer.send(topic, json.dumps(event).encode(), key=str(order_id).encode())
        # One event per partition well past the end, so that every window closes.
        flush_at = start + timedelta(milliseconds=count + 60_000)
        for partition in range(3):
            flush = {
                "event_type": "watermark_flush",
                "event_id": str(uuid.uuid4()),
                "event_version": 1,
                "timestamp": flush_at.isoformat().replace("+00:00", "Z"),
            }
            await producer.send(topic, json.dumps(flush).encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
    return round(revenue, 2)


async def _topics(create: list[NewTopic], delete: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        if delete:
            await admin.delete_topics(delete)
        if create:
            await admin.create_topics(create)
    finally:
        await admin.close()


async def _results(topic: str, expected: int, within_seconds: float) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=f"bench-{uuid.uuid4().hex}",
    )
    await consumer.start()
    windows: list[dict[str, Any]] = []
    deadline = time.monotonic() + within_seconds
    try:
        while sum(w["order_count"] for w in windows) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"only {sum(w['order_count'] for w in windows)} of {expected} "
                    "events counted before the timeout"
                )
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    result = json.loads(record.value or b"{}")
                    if result.get("event_type") == "analytics_window":
                        windows.append(result)
    finally:
        await consumer.stop()
    return windows


async def _measure(count: int) -> dict[str, Any]:
    if not JAR.exists():
        raise SystemExit(f"{JAR} is missing: run `make up` (it builds the job)")
    run = uuid.uuid4().hex[:8]
    source, sink = f"bench-orders-{run}", f"bench-results-{run}"
    await _topics(
        [
            NewTopic(source, 3, 1),
            NewTopic(sink, 1, 1, topic_configs={"message.timestamp.type": "LogAppendTime"}),
        ],
        [],
    )
    try:
        revenue = await _fill(source, count)
        with tempfile.TemporaryDirectory(prefix="flink-bench-") as scratch:
            job = await asyncio.create_subprocess_exec(
                *[
                    "java",
                    "-Xmx768m",
                    f"-Djava.io.tmpdir={scratch}",
                    "-jar",
                    str(JAR),
                    "--bootstrap",
                    BOOTSTRAP,
                    "--input",
                    source,
                    "--output",
                    sink,
                    "--group",
                    f"bench-{run}",
                    "--window-seconds",
                    "5",
                    "--delivery",
                    "at-least-once",
                    "--parallelism",
                    "2",
                    "--checkpoint-ms",
                    "10000",
                    "--checkpoint-dir",
                    f"{scratch}/checkpoints",
                    "--lake-dir",
                    f"{scratch}/lake",
                    "--web-ui-port",
                    "18082",
                ],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                windows = await _results(sink, count, within_seconds=300)
            finally:
                job.terminate()
                await asyncio.wait_for(job.wait(), 30)
    finally:
        await _topics([], [source, sink])
    emitted = sorted(
        datetime.fromisoformat(w["emitted_at"].replace("Z", "+00:00")) for w in windows
    )
    span = (emitted[-1] - emitted[0]).total_seconds() or 1e-3
    counted = sum(w["order_count"] for w in windows)
    summed = round(sum(w["revenue"] for w in windows), 2)
    report = {
        "events": count,
        "windows": len(windows),
        "counted": counted,
        "revenue_expected": revenue,
        "revenue_counted": summed,
        "first_to_last_result_seconds": round(span, 2),
        "events_per_second": round(count / span),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "flink_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def measure(count: int) -> dict[str, Any]:
    """Events per second the job sustains over `count` pre-filled events (and its checks)."""
    return asyncio.run(_measure(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    report = measure(parser.parse_args().events)
    print(
        f"{report['windows']} windows, {report['counted']} events counted "
        f"(revenue {report['revenue_counted']} of {report['revenue_expected']})"
    )
    print(
        f"sustained throughput: {report['events_per_second']} events/s "
        f"({report['first_to_last_result_seconds']} s from the first to the last window result)"
    )


if __name__ == "__main__":
    main()
