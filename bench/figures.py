"""One measured figure (throughput and latency percentiles) and the load tools that produce it.

Every row of `make bench` is a `Figure`, whichever tool measured it (hey, Locust, pgbench,
redis-benchmark, Kafka's ProducerPerformance, or a Python loop), so the table and the JSON
treat them alike.
"""

import csv
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cloudmart_local.layout import TOOLS, VENV_BIN

RESULTS = Path(__file__).parent / "results"
HEY = TOOLS / "bin" / "hey"  # bench/install.sh


@dataclass
class Figure:
    name: str
    unit: str  # what `throughput` counts per second: requests, orders, transactions, events
    throughput: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    requests: int = 0
    note: str = ""
    # Milliseconds of CPU per successful unit (request, order), by component or group, from
    # /proc over the same run: what the figure costs, beside what it achieves.
    cpu_ms: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def from_latencies(
    name: str, unit: str, latencies_s: list[float], elapsed_s: float, errors: int = 0
) -> Figure:
    """A figure from per-operation latencies (seconds) over a measured wall time."""
    if not latencies_s:
        return Figure(name, unit, errors=errors, note="nothing succeeded")
    return Figure(
        name,
        unit,
        throughput=round(len(latencies_s) / elapsed_s, 1),
        p50_ms=round(percentile(latencies_s, 0.50) * 1000, 2),
        p95_ms=round(percentile(latencies_s, 0.95) * 1000, 2),
        p99_ms=round(percentile(latencies_s, 0.99) * 1000, 2),
        errors=errors,
        requests=len(latencies_s),
    )


def hey(
    name: str,
    url: str,
    *,
    concurrency: int,
    seconds: int,
    headers: dict[str, str] | None = None,
) -> Figure:
    """Closed-loop HTTP load at a fixed concurrency (Go, so the client is not the bottleneck)."""
    command = [str(HEY), "-z", f"{seconds}s", "-c", str(concurrency), "-disable-compression"]
    for header, value in (headers or {}).items():
        command += ["-H", f"{header}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    return parse_hey(name, output, note=f"hey, {concurrency} connections, {seconds} s")


def parse_hey(name: str, output: str, note: str = "") -> Figure:
    """hey's text summary: the latency distribution, the status code counts and the transport
    errors (refused or reset connections, timeouts), which hey lists apart from the statuses.

    Throughput is successful responses over hey's total time, computed here: hey's own
    Requests/sec also counts transport errors, so a service restarting under it (refusing
    connections in microseconds) shows tens of thousands of "requests" per second.
    """
    latency = {
        int(share): float(secs) * 1000
        for share, secs in re.findall(r"^\s+(\d+)%% in ([\d.]+) secs", output, re.MULTILINE)
    }
    statuses = {
        int(code): int(count)
        for code, count in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)
    }
    failed = output.partition("Error distribution:")[2]
    transport_errors = sum(
        int(count) for count in re.findall(r"^\s+\[(\d+)\]\s", failed, re.MULTILINE)
    )
    total = re.search(r"Total:\s+([\d.]+) secs", output)
    succeeded = statuses.get(200, 0)
    return Figure(
        name,
        "requests",
        throughput=round(succeeded / float(total.group(1)), 1) if total else None,
        p50_ms=_round(latency.get(50)),
        p95_ms=_round(latency.get(95)),
        p99_ms=_round(latency.get(99)),
        errors=sum(statuses.values()) - succeeded + transport_errors,
        requests=sum(statuses.values()) + transport_errors,
        note=note,
    )


def locust(
    name: str,
    user_classes: list[str],
    *,
    host: str,
    users: int,
    seconds: int,
    row: str = "Aggregated",
    unit: str = "requests",
    spawn_seconds: int = 5,
    environment: Mapping[str, str] | None = None,
    settle_seconds: int = 0,
) -> Figure:
    """A Locust scenario of bench/locustfile.py, headless; the figure of one row of its stats.

    Users arrive over `spawn_seconds`; the statistics restart once all are running, so the
    figure is the steady state of `seconds`, not the arrival (registrations, logins). With
    `settle_seconds`, the locustfile itself restarts them later, when the arrivals' backlog has
    drained, and ends the run `seconds` after that; `settle_seconds` bounds the wait.
    """
    prefix = RESULTS / f"locust-{name.replace(' ', '-').replace('/', '')}"
    subprocess.run(
        [
            str(VENV_BIN / "locust"),
            "-f",
            str(Path(__file__).parent / "locustfile.py"),
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(max(1, users // spawn_seconds)),
            "-t",
            f"{spawn_seconds + settle_seconds + seconds}s",
            "--reset-stats",
            "--stop-timeout",
            "10",
            "--host",
            host,
            "--csv",
            str(prefix),
            *user_classes,
        ],
        check=False,  # locust exits 1 when any request failed: the figure shows the failures
        capture_output=True,
        env=os.environ
        | dict(environment or {})
        | ({"CLOUDMART_BENCH_STEADY_SECONDS": str(seconds)} if settle_seconds else {}),
        timeout=spawn_seconds + settle_seconds + seconds + 120,
    )
    return locust_row(name, Path(f"{prefix}_stats.csv"), row, unit, users, seconds)


def locust_row(name: str, stats: Path, row: str, unit: str, users: int, seconds: int) -> Figure:
    with stats.open() as handle:
        rows = {line["Name"]: line for line in csv.DictReader(handle)}
    if row not in rows:
        return Figure(name, unit, note=f"no {row} row in {stats.name}")
    line = rows[row]
    return Figure(
        name,
        unit,
        throughput=round(float(line["Requests/s"]), 1),
        p50_ms=_round(_number(line["50%"])),
        p95_ms=_round(_number(line["95%"])),
        p99_ms=_round(_number(line["99%"])),
        errors=int(line["Failure Count"]),
        requests=int(line["Request Count"]),
        note=f"Locust, {users} users, {seconds} s",
    )


def _number(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
