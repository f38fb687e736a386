"""The analytics job's sustained throughput, replaying a pre-filled topic of order events,
against the rate Kafka's own consumer reads the same topic at.

    .venv/bin/python -m bench.flink_throughput [--events 200000] [--warmup-events 200000]

Fills a scratch topic (3 partitions) with synthetic `order_created` events, reads it once with
Kafka's ConsumerPerformance (the job's bound: it cannot consume faster than a consumer of
this broker), then runs the job's jar on it (5 s windows, at-least-once, its own output topic
and Flink UI port) and measures from the first window result after the warm-up events to the
last result: events per second the job consumed once warm. Checks that the windows count every
event once and add up to the revenue sent. Writes bench/results/flink_throughput.json; cleans
up after.
"""

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import limits
from cloudmart_local.layout import KAFKA_PORT, TOOLS

BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"
JAR = TOOLS / "analytics" / "order-analytics.jar"
RESULTS = Path(__file__).parent / "results"
REGIONS = ["us-east", "us-west", "eu-west", "eu-central", "ap-south"]
START = datetime(2026, 1, 1, tzinfo=UTC)  # event time of order 0; order n is n ms later
# The job waits this long in event time past a window's end before closing it. The default
# (10 s) would hold back 10,000 events before the first result; 1 s keeps nearly every event
# inside the timed span even for a short run, and the job's work per event is the same.
OUT_OF_ORDERNESS_SECONDS = 1
FLUSH_EVENTS = 3  # one per partition, past the end, so the last window closes
# Events read before the timed span starts. A fresh JVM spends its first seconds compiling
# (measured: C1 and C2 took 4-6 s of CPU in a 100,000-event run whose timed span was 1-4 s, on
# the same two cores), so without them the figure was the job's warm-up, not its sustained rate.
WARMUP_EVENTS = 200_000
CLOCK_MS = 10  # the job's watermark interval and output flush in the bench


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
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20, max_batch_size=262144)
    await producer.start()
    revenue = 0.0
    try:
        for order_id in range(1, count + 1):
            event = _event(order_id, START + timedelta(milliseconds=order_id), rng)
            revenue += event["total_amount"]
            await producer.send(topic, json.dumps(event).encode(), key=str(order_id).encode())
        # One event per partition well past the end, so that every window closes.
        flush_at = START + timedelta(milliseconds=count + 60_000)
        for partition in range(FLUSH_EVENTS):
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
                # Reported as a miscount (a failed budget), with whatever did arrive.
                print(
                    f"only {sum(w['order_count'] for w in windows)} of {expected} "
                    "events counted before the timeout",
                    flush=True,
                )
                break
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    result = json.loads(record.value or b"{}")
                    if result.get("event_type") == "analytics_window":
                        windows.append(result)
    finally:
        await consumer.stop()
    return windows


async def _measure(count: int, warmup: int) -> dict[str, Any]:
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
        total = warmup + count  # one run of events: the warm-up ones first
        revenue = await _fill(source, total)
        # Before the job starts, so that the two do not share the cores.
        consumer = await asyncio.to_thread(limits.kafka_consume, source, total + FLUSH_EVENTS)
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
                    "--out-of-orderness-seconds",
                    str(OUT_OF_ORDERNESS_SECONDS),
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
                    # The timed span is under a second: results must leave when their window
                    # closes, not at the next of Flink's 200 ms watermark ticks and 100 ms buffer
                    # flushes, which made the measured span up to 0.3 s off (0.57-0.92 of the
                    # consumer in three runs of one build).
                    "--watermark-interval-ms",
                    str(CLOCK_MS),
                    "--buffer-timeout-ms",
                    str(CLOCK_MS),
                ],
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                windows = await _results(sink, total, within_seconds=300)
            finally:
                job.terminate()
                await asyncio.wait_for(job.wait(), 30)
    finally:
        await _topics([], [source, sink])
    counted = sum(w["order_count"] for w in windows)
    summed = round(sum(w["gross_order_value"] for w in windows), 2)
    rate = events_per_second(windows, total, warmup)
    report = {
        "events": total,
        "warmup_events": warmup,
        "windows": len(windows),
        "counted": counted,
        "revenue_expected": revenue,
        "revenue_counted": summed,
        "revenue_mismatch": revenue_mismatch(revenue, windows),
        "events_per_second": rate,
        "kafka_consumer_events_per_second": consumer.throughput,
        "share_of_kafka_consumer": (
            round(rate / consumer.throughput, 3) if rate and consumer.throughput else None
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "flink_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def events_per_second(windows: list[dict[str, Any]], count: int, warmup: int = 0) -> float | None:
    """Events the job consumed between its first window result after the `warmup` events and
    its last result, per second (`count` events in all, the warm-up ones included).

    By that first result the job has read every event up to that window's end plus the
    out-of-orderness wait (events are 1 ms apart in event time), so those are not in the span.
    """
    warm = START + timedelta(milliseconds=warmup)
    timed = [w for w in windows if _instant(w["window_start"]) >= warm]
    if len(timed) < 2:
        return None
    first = min(timed, key=lambda w: _instant(w["emitted_at"]))
    last = max(_instant(w["emitted_at"]) for w in windows)
    span = (last - _instant(first["emitted_at"])).total_seconds()
    read_before = (_instant(first["window_end"]) - START).total_seconds() * 1000
    in_span = count - min(count, read_before + OUT_OF_ORDERNESS_SECONDS * 1000)
    return round(in_span / span) if span > 0 and in_span > 0 else None


def revenue_mismatch(sent: float, windows: list[dict[str, Any]]) -> float:
    """The windows' gross order value minus the value sent (created orders only, none paid),
    beyond rounding: the job rounds each window to cents (up to half a cent each), so only a
    larger difference is an error."""
    difference = sum(w["gross_order_value"] for w in windows) - sent
    allowance = 0.005 * len(windows) + 0.01
    return 0.0 if abs(difference) <= allowance else round(difference, 2)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(count: int, warmup: int = WARMUP_EVENTS) -> dict[str, Any]:
    """Events per second the job sustains over `count` pre-filled events read after `warmup`
    others (and its checks, over all of them)."""
    return asyncio.run(_measure(count, warmup))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events in the timed span")
    parser.add_argument("--warmup-events", type=int, default=WARMUP_EVENTS)
    arguments = parser.parse_args()
    report = measure(arguments.events, arguments.warmup_events)
    print(
        f"{report['windows']} windows, {report['counted']} of {report['events']} events counted "
        f"({report['warmup_events']} of them warm-up) "
        f"(revenue {report['revenue_counted']} of {report['revenue_expected']}, "
        f"mismatch beyond rounding {report['revenue_mismatch']})"
    )
    print(
        f"sustained throughput: {report['events_per_second']} events/s, "
        f"{report['share_of_kafka_consumer']} of Kafka's consumer on the same topic "
        f"({report['kafka_consumer_events_per_second']} events/s)"
    )
    if report["revenue_mismatch"] or report["counted"] != report["events"]:
        sys.exit("the windows do not add up to what was sent")


if __name__ == "__main__":
    main()
