"""The machine's component limits, measured on the running stack's own servers.

Each is the ceiling a CloudMart figure is bounded by: PostgreSQL (pgbench TPC-B), Redis
(redis-benchmark GET), Kafka (its ProducerPerformance tool, acks=all), a bare FastAPI/uvicorn
JSON endpoint (one process, like each service), and the DynamoDB emulator (GetItem and a
conditional UpdateItem, the stock reservation's shape).
"""

import csv
import io
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.config import Config

from bench.figures import Figure, from_latencies, hey
from bench.footprint import process_cpu_seconds
from cloudmart_local.layout import KAFKA_PORT, POSTGRES_PORT, REDIS_PORT, RUN, TOOLS, VENV_BIN
from cloudmart_local.probes import dynamodb_client

BARE = "bare FastAPI/uvicorn JSON"
PGBENCH = "/usr/bin/pgbench"
PSQL = "/usr/bin/psql"
PG_SOCKET = str(RUN / "postgres")
BARE_PORT = 15999


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    # Peer authentication on the stack's socket: the superuser, without a password.
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )


def pgbench(clients: int = 8, seconds: int = 15, scale: int = 8) -> Figure:
    """TPC-B on the stack's PostgreSQL, in a scratch database dropped afterwards."""
    connection = ["-h", PG_SOCKET, "-p", str(POSTGRES_PORT)]
    _as_postgres(PSQL, *connection, "-qc", "DROP DATABASE IF EXISTS cloudmart_pgbench")
    _as_postgres(PSQL, *connection, "-qc", "CREATE DATABASE cloudmart_pgbench")
    try:
        _as_postgres(PGBENCH, *connection, "-i", "-q", "-s", str(scale), "cloudmart_pgbench")
        with tempfile.TemporaryDirectory(prefix="pgbench-") as logs:
            Path(logs).chmod(0o777)  # written by the postgres user
            run = _as_postgres(
                PGBENCH,
                *connection,
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-l",
                "--log-prefix",
                f"{logs}/tx",
                "cloudmart_pgbench",
            )
            # Per-transaction log lines: client, transaction, latency in microseconds, ...
            latencies = [
                int(line.split()[2]) / 1e6
                for log in Path(logs).glob("tx*")
                for line in log.read_text().splitlines()
            ]
    finally:
        _as_postgres(PSQL, *connection, "-qc", "DROP DATABASE IF EXISTS cloudmart_pgbench")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
    figure = from_latencies("PostgreSQL pgbench TPC-B", "transactions", latencies, seconds)
    if tps:
        figure.throughput = round(float(tps.group(1)), 1)
    figure.note = f"pgbench, {clients} clients, scale {scale}, {seconds} s"
    return figure


def redis_get(clients: int = 50, requests: int = 200_000) -> Figure:
    """redis-benchmark GET on the stack's Redis (its own key space, no pipelining)."""
    output = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            "127.0.0.1",
            "-p",
            str(REDIS_PORT),
            "-t",
            "get",
            "-n",
            str(requests),
            "-c",
            str(clients),
            "--csv",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    row = next(csv.DictReader(io.StringIO(output)))
    return Figure(
        "Redis GET",
        "requests",
        throughput=round(float(row["rps"]), 1),
        p50_ms=float(row["p50_latency_ms"]),
        p95_ms=float(row["p95_latency_ms"]),
        p99_ms=float(row["p99_latency_ms"]),
        requests=requests,
        note=f"redis-benchmark, {clients} clients",
    )


def kafka_produce(records: int = 200_000, size: int = 512, rate: int = -1) -> Figure:
    """Kafka's ProducerPerformance on the stack's broker, acks=all, idempotent like the relay.

    Unthrottled (rate -1) it gives the broker's throughput, with the latency of a full
    producer buffer; at a modest fixed rate it gives the latency floor of one acknowledged send.
    """
    topic = f"bench-perf-{uuid.uuid4().hex[:8]}"
    bootstrap = f"127.0.0.1:{KAFKA_PORT}"
    # The broker does not create topics on first use (like MSK here): make it, 3 partitions.
    _kafka_tool(
        "TopicCommand",
        "--bootstrap-server",
        bootstrap,
        "--create",
        "--topic",
        topic,
        "--partitions",
        "3",
        "--replication-factor",
        "1",
    )
    try:
        output = _kafka_tool(
            "ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(size),
            "--throughput",
            str(rate),
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=5",
            heap="256m",
            timeout=300,
        )
    finally:
        _kafka_tool("TopicCommand", "--bootstrap-server", bootstrap, "--delete", "--topic", topic)
    figure = parse_producer_summary(output.strip().splitlines()[-1])
    figure.name += "" if rate < 0 else f" at {rate}/s"
    figure.note = f"ProducerPerformance, {size} B records"
    return figure


def parse_producer_summary(summary: str) -> Figure:
    """ProducerPerformance's last line: "N records sent, R records/sec (M MB/sec), A ms avg
    latency, X ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."."""
    numbers = re.findall(r"([\d.]+) (?:records sent|records/sec|ms 50th|ms 95th|ms 99th)", summary)
    if len(numbers) != 5:
        raise ValueError(f"not a ProducerPerformance summary: {summary!r}")
    sent, measured, p50, p95, p99 = (float(n) for n in numbers)
    return Figure(
        "Kafka produce (acks=all)",
        "events",
        throughput=round(measured, 1),
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        requests=int(sent),
    )


def kafka_consume(topic: str, records: int) -> Figure:
    """Kafka's ConsumerPerformance (the jars the broker runs) reading `records` of `topic`
    from the start: the rate a consumer of this broker reaches, the analytics job's bound."""
    output = _kafka_tool(
        "ConsumerPerformance",
        "--bootstrap-server",
        f"127.0.0.1:{KAFKA_PORT}",
        "--topic",
        topic,
        "--num-records",
        str(records),
        "--group",
        f"bench-perf-{uuid.uuid4().hex[:8]}",
        "--command-property",
        "isolation.level=read_committed",  # as the job's source reads
        "--timeout",
        "30000",
        heap="256m",
        timeout=300,
    )
    figure = parse_consumer_summary(output)
    figure.note = f"ConsumerPerformance, {records} records of the same topic, one consumer"
    return figure


def parse_consumer_summary(output: str) -> Figure:
    """ConsumerPerformance's header and data line ("start.time, end.time, data.consumed.in.MB,
    MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec,
    fetch.nMsg.sec"). The rate is fetch.nMsg.sec: records per second once the group has
    formed, the same span the Flink job is timed over (first to last result, not its start)."""
    lines = [line for line in output.strip().splitlines() if line.count(",") >= 9]
    if len(lines) < 2 or "fetch.nMsg.sec" not in lines[0]:
        raise ValueError(f"not a ConsumerPerformance summary: {output!r}")
    row = dict(
        zip(
            (name.strip() for name in lines[0].split(",")),
            (value.strip() for value in lines[-1].split(",")),
            strict=True,
        )
    )
    return Figure(
        "Kafka consume",
        "events",
        throughput=round(float(row["fetch.nMsg.sec"]), 1),
        requests=int(row["data.consumed.in.nMsg"]),
    )


def _kafka_tool(tool: str, *arguments: str, heap: str = "128m", timeout: int = 120) -> str:
    """One of Kafka's own tools, from the jars the stack's broker runs; its stdout."""
    return subprocess.run(
        [
            "java",
            f"-Xmx{heap}",
            "-cp",
            str(TOOLS / "kafka" / "lib" / "*"),
            f"org.apache.kafka.tools.{tool}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    ).stdout


@contextmanager
def _bare_server() -> Iterator[tuple[str, int]]:
    """bench/bare_app.py under uvicorn with the services' own flags: one process, no extras."""
    server = subprocess.Popen(
        [
            str(VENV_BIN / "uvicorn"),
            "--factory",
            "bench.bare_app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(BARE_PORT),
            "--no-access-log",
            "--no-server-header",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", BARE_PORT), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the bare FastAPI server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{BARE_PORT}", server.pid
    finally:
        server.terminate()
        server.wait(15)


def bare_fastapi(concurrency: int, seconds: int) -> Figure:
    """The ceiling, with its own CPU per request (the server process; hey is not counted)."""
    with _bare_server() as (base, pid):
        hey("warm", f"{base}/product", concurrency=4, seconds=1)
        before = process_cpu_seconds(pid)
        figure = hey(BARE, f"{base}/product", concurrency=concurrency, seconds=seconds)
        spent = process_cpu_seconds(pid) - before
    served = figure.requests - figure.errors
    if served:
        figure.cpu_ms = {"bare app": round(1000 * spent / served, 3)}
    return figure


def _dynamodb() -> Any:
    # No retries: a throttled or failed call must show in the figure, not hide in a retry.
    return dynamodb_client(Config(max_pool_connections=16, retries={"max_attempts": 0}))


def dynamodb(threads: int = 4, seconds: int = 8) -> list[Figure]:
    """GetItem and a conditional UpdateItem (stock -= 1 if stock >= 1) on a scratch table."""
    client = _dynamodb()
    table = f"bench-limits-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        for key in range(100):
            client.put_item(
                TableName=table,
                Item={"id": {"N": str(key)}, "stock": {"N": "1000000"}, "name": {"S": f"p{key}"}},
            )
        get = _loop(
            threads,
            seconds,
            lambda c, k: c.get_item(TableName=table, Key={"id": {"N": str(k % 100)}}),
        )
        update = _loop(
            threads,
            seconds,
            lambda c, k: c.update_item(
                TableName=table,
                Key={"id": {"N": str(k % 100)}},
                UpdateExpression="SET stock = stock - :one",
                ConditionExpression="stock >= :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            ),
        )
    finally:
        client.delete_table(TableName=table)
    figures = [
        from_latencies("DynamoDB emulator GetItem", "requests", *get),
        from_latencies("DynamoDB emulator conditional UpdateItem", "requests", *update),
    ]
    for figure in figures:
        figure.note = f"boto3, {threads} threads, {seconds} s"
    return figures


def _loop(
    threads: int, seconds: int, call: Callable[[Any, int], object]
) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        client = _dynamodb()  # a client per thread: boto3 clients are thread-safe, but pooled
        mine: list[float] = []
        key = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            call(client, key)
            mine.append(time.perf_counter() - started)
            key += threads
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, time.perf_counter() - started
