"""`make bench`: every CloudMart figure beside the component limit that bounds it, in one table.

    .venv/bin/python -m bench.run [--quick] [--skip-startup]

Runs on the local stack (`make up` first), loopback only, and stops by itself (about 12
minutes; --quick shortens every run for a smoke test). Writes bench/results/bench-<time>.json
and bench/results/latest.json. The machine is shared and has 2 cores: the load generator,
the stack and the limits compete for them, which is part of what the figures say.
"""

import argparse
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import event_latency, flink_throughput, footprint, limits, scenarios, startup
from bench.figures import RESULTS, Figure
from cloudmart_local import supervisor

FULL_STACK_BUDGET_MIB = 3 * 1024  # issue #15: the full stack idle under 3 GiB RSS


@dataclass(frozen=True)
class Durations:
    http_seconds: int
    locust_seconds: int
    checkout_seconds: int
    users: int
    flink_events: int
    latency_orders: int


FULL = Durations(15, 30, 60, 100, 200_000, 20)
QUICK = Durations(4, 10, 15, 20, 20_000, 5)


def _comparisons(f: dict[str, Figure]) -> list[tuple[str, str, str, str]]:
    """(CloudMart figure, bounding limit, compared on, ratio) for the table's second part."""

    def ratio(ours: float | None, limit: float | None) -> str:
        return "n/a" if not ours or not limit else f"{ours / limit:.3f}"

    gateway, direct = f["catalog read via gateway (cached)"], f["catalog read direct to products"]
    bare = f["bare FastAPI/uvicorn JSON"]
    checkout = f["checkout e2e"]
    kafka, kafka_floor = f["Kafka produce (acks=all)"], f["Kafka produce (acks=all) at 500/s"]
    to_kafka, to_email = f["event: commit -> on Kafka"], f["event: commit -> email in mailpit"]
    flink = f["Flink job sustained"]
    return [
        (gateway.name, bare.name, "req/s", ratio(gateway.throughput, bare.throughput)),
        (gateway.name, direct.name, "req/s", ratio(gateway.throughput, direct.throughput)),
        (direct.name, bare.name, "req/s", ratio(direct.throughput, bare.throughput)),
        (
            direct.name,
            "Redis GET",
            "p50 latency (x)",
            ratio(direct.p50_ms, f["Redis GET"].p50_ms),
        ),
        (
            checkout.name,
            "DynamoDB emulator conditional UpdateItem",
            "orders/s vs updates/s",
            ratio(checkout.throughput, f["DynamoDB emulator conditional UpdateItem"].throughput),
        ),
        (
            checkout.name,
            "PostgreSQL pgbench TPC-B",
            "orders/s vs tx/s",
            ratio(checkout.throughput, f["PostgreSQL pgbench TPC-B"].throughput),
        ),
        (
            to_kafka.name,
            kafka_floor.name,
            "p50 latency (x)",
            ratio(to_kafka.p50_ms, kafka_floor.p50_ms),
        ),
        (
            to_kafka.name,
            kafka_floor.name,
            "p99 latency (x)",
            ratio(to_kafka.p99_ms, kafka_floor.p99_ms),
        ),
        (
            to_email.name,
            kafka_floor.name,
            "p50 latency (x)",
            ratio(to_email.p50_ms, kafka_floor.p50_ms),
        ),
        (flink.name, kafka.name, "events/s", ratio(flink.throughput, kafka.throughput)),
    ]


def _table(figures: list[Figure]) -> str:
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    header = f"{'figure':<44} {'unit/s':>12} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
    lines = [f"{header} {'errors':>7}  how"]
    for figure in figures:
        lines.append(
            f"{figure.name:<44} {cell(figure.throughput):>12} {cell(figure.p50_ms):>9} "
            f"{cell(figure.p95_ms):>9} {cell(figure.p99_ms):>9} {figure.errors:>7}  "
            f"{figure.unit}; {figure.note}"
        )
    return "\n".join(lines)


def main(durations: Durations, skip_startup: bool) -> None:
    if not supervisor.is_running():
        raise SystemExit("the stack is down: run `make up` (make bench does)")
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    report: dict[str, Any] = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}

    def step(what: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {what}", flush=True)

    if not skip_startup:
        step("make up, cold then warm")
        report["startup"] = startup.measure()
        time.sleep(10)  # let the services settle (first requests, Flink restore) before idling
    step("memory, idle")
    idle = footprint.snapshot()

    step("component limits")
    figures: list[Figure] = [
        limits.pgbench(seconds=durations.http_seconds),
        limits.redis_get(),
        limits.kafka_produce(records=durations.flink_events // 2),
        limits.kafka_produce(records=durations.http_seconds * 500, rate=500),
        limits.bare_fastapi(concurrency=50, seconds=durations.http_seconds),
        *limits.dynamodb(seconds=max(3, durations.http_seconds // 2)),
    ]
    step("catalog reads")
    figures += scenarios.catalog_reads(seconds=durations.http_seconds)
    step("browsing")
    figures.append(scenarios.browsing(durations.users, durations.locust_seconds))
    step("checkout (memory sampled under load)")
    peak: list[footprint.Usage] = []
    sampler = threading.Thread(
        target=lambda: peak.extend(footprint.peak_during(durations.checkout_seconds)), daemon=True
    )
    sampler.start()
    cpu_before, clock_before = footprint.cpu_seconds(), time.monotonic()
    figures.append(scenarios.checkout(durations.users, durations.checkout_seconds))
    cpu_after, clock = footprint.cpu_seconds(), time.monotonic() - clock_before
    sampler.join()
    # Where the 2 cores went during checkout: what bounds it when nothing else does.
    cpu_share = sorted(
        ((name, (cpu_after[name] - cpu_before.get(name, 0.0)) / clock) for name in cpu_after),
        key=lambda item: -item[1],
    )
    step("mixed traffic")
    figures.append(scenarios.mixed(durations.users, durations.locust_seconds))
    step("event latency")
    figures += event_latency.measure(durations.latency_orders)
    step("Flink job")
    flink = flink_throughput.measure(durations.flink_events)
    figures.append(
        Figure(
            "Flink job sustained",
            "events",
            throughput=flink["events_per_second"],
            requests=flink["events"],
            errors=flink["events"] - flink["counted"],
            note=f"{flink['events']} events replayed from a pre-filled topic",
        )
    )
    by_name = {figure.name: figure for figure in figures}
    comparisons = _comparisons(by_name)
    idle_total = sum(u.rss_mib for u in idle)
    load_total = sum(u.rss_mib for u in peak)

    print()
    print(_table(figures))
    print()
    print(f"{'CloudMart figure':<44} {'bounded by':<44} {'compared on':<22} ratio")
    for ours, limit, on, value in comparisons:
        print(f"{ours:<44} {limit:<44} {on:<22} {value}")
    print()
    print(
        f"memory (RSS, whole stack): idle {idle_total:,.0f} MiB, under checkout load "
        f"{load_total:,.0f} MiB; budget {FULL_STACK_BUDGET_MIB:,} MiB idle "
        f"(ratio {idle_total / FULL_STACK_BUDGET_MIB:.2f}); PSS idle "
        f"{sum(u.pss_mib for u in idle):,.0f} MiB"
    )
    busiest = ", ".join(f"{name} {cores:.2f}" for name, cores in cpu_share[:8])
    print(f"CPU during checkout (cores of 2; Locust itself not counted): {busiest}")
    if "startup" in report:
        print(
            f"make up: cold {report['startup']['make_up_cold_s']} s, "
            f"warm {report['startup']['make_up_warm_s']} s"
        )
    step("done")

    report |= {
        "figures": [figure.as_dict() for figure in figures],
        "comparisons": [
            {"figure": ours, "bounded_by": limit, "compared_on": on, "ratio": value}
            for ours, limit, on, value in comparisons
        ],
        "memory": {
            "idle_rss_mib": round(idle_total, 1),
            "load_rss_mib": round(load_total, 1),
            "idle": [usage.__dict__ for usage in idle],
            "load": [usage.__dict__ for usage in peak],
            "budget_mib": FULL_STACK_BUDGET_MIB,
        },
        "checkout_cpu_cores": {name: round(cores, 3) for name, cores in cpu_share},
        "seconds": round(time.monotonic() - started),
    }
    text = json.dumps(report, indent=2) + "\n"
    (RESULTS / f"bench-{report['started_at'].replace(':', '')}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke test")
    parser.add_argument("--skip-startup", action="store_true", help="do not time make up")
    arguments = parser.parse_args()
    main(QUICK if arguments.quick else FULL, arguments.skip_startup)
