"""`make bench`: every CloudMart figure beside the component limit that bounds it, in one table,
with the CPU each costs and the budgets of issue #24 checked.

    .venv/bin/python -m bench.run [--quick] [--skip-startup]

Runs on the local stack (`make up` first), loopback only, and stops by itself (about 10
minutes). Writes bench/results/bench-<time>.json and bench/results/latest.json. The machine is
shared and has 2 cores: the load generator, the stack and the limits compete for them, which
is why the budgets are CPU per request (from /proc) and ratios measured in the same run.

The full run exits 1 when a budget is missed. --quick (`make bench-quick`, under 4 minutes)
measures only the budgeted figures, on shorter runs and without the Locust scenarios, and
reports the budgets without failing: an 8 s run on a shared machine is for steering an
optimisation, not for a verdict. Either exits 1 when a step could not measure at all (the
other steps' figures are still printed, and the budgets it feeds show MISSING).
"""

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import (
    budgets,
    dynamodb_restart,
    event_latency,
    flink_throughput,
    footprint,
    limits,
    scenarios,
    startup,
)
from bench.dynamodb_restart import NAME as DYNAMODB_RESTART
from bench.figures import RESULTS, Figure
from bench.scenarios import (
    CHECKOUT_LOCUST,
    CHECKOUT_LOOP,
    LIST_VIA_GATEWAY,
    PRODUCT_DIRECT,
    PRODUCT_VIA_GATEWAY,
    SEVEN,
    STACK,
)
from cloudmart_local import supervisor

FULL_STACK_BUDGET_MIB = 3 * 1024  # issue #15: the full stack idle under 3 GiB RSS
HTTP_CONCURRENCY = 50  # every capacity figure and its ceiling: same tool, same connections
BUYERS = 20  # issue #24: checkout with 20 concurrent buyers, no think time


@dataclass(frozen=True)
class Plan:
    http_seconds: int
    checkout_seconds: int  # the closed loop of BUYERS
    flink_events: int
    full: bool  # limits, Locust scenarios, event latency, memory; budgets enforced
    locust_seconds: int = 30
    locust_checkout_seconds: int = 60
    users: int = 100
    latency_orders: int = 20


FULL = Plan(http_seconds=15, checkout_seconds=60, flink_events=200_000, full=True)
QUICK = Plan(http_seconds=8, checkout_seconds=30, flink_events=100_000, full=False)


def _comparisons(f: dict[str, Figure]) -> list[tuple[str, str, str, str]]:
    """(CloudMart figure, bounding limit, compared on, ratio) for the table's second part;
    rows whose figures this run did not measure are left out."""

    def ratio(ours: float | None, limit: float | None) -> str:
        return "n/a" if not ours or not limit else f"{ours / limit:.3f}"

    rows = [
        (PRODUCT_VIA_GATEWAY, limits.BARE, "req/s", "throughput"),
        (PRODUCT_VIA_GATEWAY, PRODUCT_DIRECT, "req/s", "throughput"),
        (PRODUCT_DIRECT, limits.BARE, "req/s", "throughput"),
        (LIST_VIA_GATEWAY, limits.BARE, "req/s", "throughput"),
        (PRODUCT_DIRECT, "Redis GET", "p50 latency (x)", "p50_ms"),
        (
            CHECKOUT_LOOP,
            "DynamoDB emulator conditional UpdateItem",
            "orders/s vs updates/s",
            "throughput",
        ),
        (CHECKOUT_LOOP, "PostgreSQL pgbench TPC-B", "orders/s vs tx/s", "throughput"),
        (
            "event: commit -> on Kafka",
            "Kafka produce (acks=all) at 500/s",
            "p50 latency (x)",
            "p50_ms",
        ),
        (
            "event: commit -> on Kafka",
            "Kafka produce (acks=all) at 500/s",
            "p99 latency (x)",
            "p99_ms",
        ),
        (
            "event: commit -> email in mailpit",
            "Kafka produce (acks=all) at 500/s",
            "p50 latency (x)",
            "p50_ms",
        ),
        ("Flink job sustained", "Kafka consume", "events/s", "throughput"),
    ]
    return [
        (ours, limit, on, ratio(getattr(f[ours], field), getattr(f[limit], field)))
        for ours, limit, on, field in rows
        if ours in f and limit in f
    ]


def _restart_seconds(figure: Figure | None) -> float | None:
    """The restart's time, or infinity (a miss) when it came back without every item."""
    if figure is None:
        return None
    return float("inf") if figure.errors else float(figure.extra["restart_seconds"])


def _measured(f: dict[str, Figure], flink: dict[str, Any]) -> dict[str, float | None]:
    """The values the budgets bound, by budget key (bench/budgets.py)."""

    def cpu(name: str, part: str) -> float | None:
        return f[name].cpu_ms.get(part) if name in f else None

    def share(name: str) -> float | None:
        ours, bare = f.get(name), f.get(limits.BARE)
        if not ours or not bare or not ours.throughput or not bare.throughput:
            return None
        return round(ours.throughput / bare.throughput, 3)

    loop, locust = f.get(CHECKOUT_LOOP), f.get(CHECKOUT_LOCUST)
    return {
        "gateway CPU per product GET via gateway": cpu(PRODUCT_VIA_GATEWAY, "gateway"),
        "gateway CPU per list page GET via gateway": cpu(LIST_VIA_GATEWAY, "gateway"),
        "products CPU per cached product read via gateway": cpu(PRODUCT_VIA_GATEWAY, "products"),
        "products CPU per cached product read direct": cpu(PRODUCT_DIRECT, "products"),
        "products CPU per cached list page of 20": cpu(LIST_VIA_GATEWAY, "products"),
        "checkout CPU per order, seven Python services": cpu(CHECKOUT_LOOP, SEVEN),
        "checkout CPU per order, whole local stack": cpu(CHECKOUT_LOOP, STACK),
        "checkout orders/s, 20 buyers, no think time": loop.throughput if loop else None,
        "checkout p99, 20 buyers, no think time": loop.p99_ms if loop else None,
        "checkout p99, 100 Locust users": locust.p99_ms if locust else None,
        "product via gateway / bare FastAPI": share(PRODUCT_VIA_GATEWAY),
        "product direct to products / bare FastAPI": share(PRODUCT_DIRECT),
        "list page of 20 via gateway / bare FastAPI": share(LIST_VIA_GATEWAY),
        "DynamoDB emulator restart with 100,000 items": _restart_seconds(f.get(DYNAMODB_RESTART)),
        "Flink job / Kafka consumer rate": flink.get("share_of_kafka_consumer"),
        "Flink windows' revenue - revenue sent": flink.get("revenue_mismatch"),
        "Flink events counted - events sent": (
            flink["counted"] - flink["events"] if "counted" in flink else None
        ),
    }


def _table(figures: list[Figure]) -> str:
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    def cpu(figure: Figure) -> str:
        # The headline parts: gateway and products for a read, the two totals for an order.
        return ", ".join(f"{part} {ms:.2f}" for part, ms in list(figure.cpu_ms.items())[:2])

    header = f"{'figure':<44} {'unit/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
    lines = [f"{header} {'errors':>6}  {'CPU ms per unit':<38} how"]
    for figure in figures:
        lines.append(
            f"{figure.name:<44} {cell(figure.throughput):>10} {cell(figure.p50_ms):>9} "
            f"{cell(figure.p95_ms):>9} {cell(figure.p99_ms):>9} {figure.errors:>6}  "
            f"{cpu(figure) or '-':<38} {figure.unit}; {figure.note}"
        )
    return "\n".join(lines)


def _breakdown(figure: Figure) -> str:
    """Every component's ms of CPU per order, largest first (the totals lead)."""
    parts = ", ".join(f"{part} {ms:.1f}" for part, ms in figure.cpu_ms.items() if ms >= 0.05)
    return f"CPU per order, {figure.name} (ms): {parts}"


def _flink_figures(flink: dict[str, Any]) -> list[Figure]:
    return [
        Figure(
            "Kafka consume",
            "events",
            throughput=flink["kafka_consumer_events_per_second"],
            requests=flink["events"],
            note="ConsumerPerformance, one consumer, the job's topic",
        ),
        Figure(
            "Flink job sustained",
            "events",
            throughput=flink["events_per_second"],
            requests=flink["events"],
            errors=abs(flink["events"] - flink["counted"]),
            note=(
                f"{flink['events']:,} events replayed; revenue {flink['revenue_counted']:,} "
                f"of {flink['revenue_expected']:,} sent"
            ),
        ),
    ]


def _wait_until_settled(within_seconds: float = 90) -> None:
    """Wait (bounded) until no component has just (re)started: the stack is shared, and a
    service restarted by someone's change measures its start-up, not its requests."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        starting = sorted(
            name
            for name, info in supervisor.process_info().items()
            if info["statename"] != "RUNNING"
            or info["now"] - info["start"] < footprint.SETTLE_AFTER_START_SECONDS
        )
        if not starting:
            return
        print(f"waiting for {', '.join(starting)} to settle after a (re)start", flush=True)
        time.sleep(5)


def main(plan: Plan, skip_startup: bool) -> int:
    if not supervisor.is_running():
        raise SystemExit("the stack is down: run `make up` (make bench does)")
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": not plan.full,
    }

    _wait_until_settled()
    figures: list[Figure] = []
    failed_steps: dict[str, str] = {}

    def say(what: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {what}", flush=True)

    def step(what: str, measure: Callable[[], list[Figure]]) -> None:
        say(what)
        try:
            figures.extend(measure())
        except Exception as error:
            # One step's failure (on a shared stack, often a component someone restarted
            # under it) must not lose the other steps' figures; what it feeds shows MISSING.
            failed_steps[what] = f"{type(error).__name__}: {error}"
            print(f"         failed: {failed_steps[what]}", flush=True)

    idle: list[footprint.Usage] = []
    peak: list[footprint.Usage] = []
    flink: dict[str, Any] = {}
    if plan.full:
        if not skip_startup:
            say("make up, cold then warm")
            report["startup"] = startup.measure()
            time.sleep(10)  # let the services settle (first requests, Flink restore) before idling
        say("memory, idle")
        idle = footprint.snapshot()
        step(
            "component limits",
            lambda: [
                limits.pgbench(seconds=plan.http_seconds),
                limits.redis_get(),
                limits.kafka_produce(records=plan.flink_events // 2),
                limits.kafka_produce(records=plan.http_seconds * 500, rate=500),
                *limits.dynamodb(seconds=max(3, plan.http_seconds // 2)),
            ],
        )
    # The ceiling and the three catalog figures back to back: same tool, same connections.
    step(
        "HTTP capacity: bare FastAPI, product reads, list page (CPU per request)",
        lambda: [
            limits.bare_fastapi(concurrency=HTTP_CONCURRENCY, seconds=plan.http_seconds),
            *scenarios.catalog_reads(concurrency=HTTP_CONCURRENCY, seconds=plan.http_seconds),
        ],
    )
    step(
        f"checkout: {BUYERS} buyers in a closed loop (CPU per order)",
        lambda: [scenarios.checkout_loop(BUYERS, plan.checkout_seconds)],
    )
    if plan.full:
        step("browsing", lambda: [scenarios.browsing(plan.users, plan.locust_seconds)])

        def locust_checkout() -> list[Figure]:
            sampler = threading.Thread(
                target=lambda: peak.extend(footprint.peak_during(plan.locust_checkout_seconds)),
                daemon=True,
            )
            sampler.start()
            figure = scenarios.checkout(plan.users, plan.locust_checkout_seconds)
            sampler.join()
            return [figure]

        step(f"checkout: {plan.users} Locust users (memory sampled under load)", locust_checkout)
        step("mixed traffic", lambda: [scenarios.mixed(plan.users, plan.locust_seconds)])
        step("event latency", lambda: event_latency.measure(plan.latency_orders))
        step("DynamoDB emulator: 100,000 products, kill -9, restart", dynamodb_restart.measure)

    def analytics() -> list[Figure]:
        flink.update(flink_throughput.measure(plan.flink_events))
        return _flink_figures(flink)

    step("Flink job against Kafka's consumer on the same topic", analytics)
    by_name = {figure.name: figure for figure in figures}
    comparisons = _comparisons(by_name)
    outcomes = budgets.check(
        (b for b in budgets.BUDGETS if plan.full or not b.full_run_only),
        _measured(by_name, flink),
    )

    print()
    print(_table(figures))
    print()
    for name in (CHECKOUT_LOOP, CHECKOUT_LOCUST):
        if name in by_name:
            print(_breakdown(by_name[name]))
    print()
    print(f"{'CloudMart figure':<44} {'bounded by':<44} {'compared on':<22} ratio")
    for ours, limit, on, value in comparisons:
        print(f"{ours:<44} {limit:<44} {on:<22} {value}")
    if plan.full:
        idle_total, load_total = sum(u.rss_mib for u in idle), sum(u.rss_mib for u in peak)
        print()
        print(
            f"memory (RSS, whole stack): idle {idle_total:,.0f} MiB, under checkout load "
            f"{load_total:,.0f} MiB; budget {FULL_STACK_BUDGET_MIB:,} MiB idle "
            f"(ratio {idle_total / FULL_STACK_BUDGET_MIB:.2f}); PSS idle "
            f"{sum(u.pss_mib for u in idle):,.0f} MiB"
        )
        report["memory"] = {
            "idle_rss_mib": round(idle_total, 1),
            "load_rss_mib": round(load_total, 1),
            "idle": [usage.__dict__ for usage in idle],
            "load": [usage.__dict__ for usage in peak],
            "budget_mib": FULL_STACK_BUDGET_MIB,
        }
    if "startup" in report:
        print(
            f"make up: cold {report['startup']['make_up_cold_s']} s, "
            f"warm {report['startup']['make_up_warm_s']} s"
        )
    passed = budgets.all_passed(outcomes)
    restarted = sorted({name for figure in figures for name in figure.extra.get("restarted", [])})
    if restarted:
        print()
        print(
            f"warning: {', '.join(restarted)} (re)started during or just before a "
            "measurement (see the notes above): those figures are not the code's; run again "
            "on a quiet stack"
        )
    print()
    print(
        "budgets (issue #24), "
        + ("enforced: `make bench` fails on any miss" if plan.full else "reported, not enforced")
    )
    print(budgets.render(outcomes))
    print(f"budgets: {'all met' if passed else 'MISSED'}")
    for what, error in failed_steps.items():
        print(f"step failed, its figures missing: {what}: {error}")
    say("done")

    report |= {
        "figures": [figure.as_dict() for figure in figures],
        "comparisons": [
            {"figure": ours, "bounded_by": limit, "compared_on": on, "ratio": value}
            for ours, limit, on, value in comparisons
        ],
        "flink": flink,
        "failed_steps": failed_steps,
        "budgets": [
            {
                "figure": o.budget.key,
                "measured": o.measured,
                "budget": o.budget.describe(),
                "verdict": str(o.verdict),
            }
            for o in outcomes
        ],
        "seconds": round(time.monotonic() - started),
    }
    text = json.dumps(report, indent=2) + "\n"
    stamp = report["started_at"].replace(":", "")
    (RESULTS / f"bench-{'quick-' if not plan.full else ''}{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    # A failed step is a broken tool or stack, whatever the mode; a missed budget fails the
    # full run only (see the module's docstring).
    return 1 if failed_steps or (plan.full and not passed) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="budgeted figures only, short runs, not enforced"
    )
    parser.add_argument("--skip-startup", action="store_true", help="do not time make up")
    arguments = parser.parse_args()
    sys.exit(main(QUICK if arguments.quick else FULL, arguments.skip_startup))
