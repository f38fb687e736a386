"""The performance budgets of issue #24 and architecture.md §10, in one table, and their check.

Every budget names the measured value it bounds (a key the benchmark fills in), the limit
and its direction. `check` is pure: measured values in, verdicts out, so the rule that makes
`make bench` fail is unit-tested apart from the load that feeds it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    MET = "pass"
    MISSED = "FAIL"
    MISSING = "MISSING"  # the run should have measured it and did not: a failure too


@dataclass(frozen=True)
class Budget:
    key: str  # the measured value's name in the benchmark's results
    unit: str
    limit: float
    at_most: bool  # True: measured <= limit (a cost); False: measured >= limit (a rate)
    full_run_only: bool = False  # measured by `make bench` only (not by bench-quick)
    absolute: bool = False  # a difference: too much is as wrong as too little

    def describe(self) -> str:
        return f"{'<=' if self.at_most else '>='} {self.limit:g} {self.unit}".rstrip()


# Issue #24 items 1, 2 and 6. Keys are what bench/run.py measures; see its `_measured`.
BUDGETS: tuple[Budget, ...] = (
    # CPU per request, from /proc, over the same hey run that gives the throughput.
    Budget("gateway CPU per product GET via gateway", "ms", 0.4, at_most=True),
    Budget("gateway CPU per list page GET via gateway", "ms", 0.4, at_most=True),
    Budget("products CPU per cached product read via gateway", "ms", 0.3, at_most=True),
    Budget("products CPU per cached product read direct", "ms", 0.3, at_most=True),
    Budget("products CPU per cached list page of 20", "ms", 0.8, at_most=True),
    # Checkout, 20 buyers in a closed loop without think time.
    Budget("checkout CPU per order, seven Python services", "ms", 25, at_most=True),
    Budget("checkout CPU per order, whole local stack", "ms", 90, at_most=True),
    Budget("checkout orders/s, 20 buyers, no think time", "orders/s", 20, at_most=False),
    Budget("checkout p99, 20 buyers, no think time", "ms", 1500, at_most=True),
    Budget("checkout p99, 100 Locust users", "ms", 2000, at_most=True, full_run_only=True),
    # Throughput as a share of the bare FastAPI endpoint: same run, tool and concurrency.
    Budget("product via gateway / bare FastAPI", "", 0.30, at_most=False),
    Budget("product direct to products / bare FastAPI", "", 0.45, at_most=False),
    Budget("list page of 20 via gateway / bare FastAPI", "", 0.15, at_most=False),
    # Issue #25: the local DynamoDB restarts with a catalog of 100,000 products, all of it.
    Budget(
        "DynamoDB emulator restart with 100,000 items", "s", 30, at_most=True, full_run_only=True
    ),
    # The analytics job against Kafka's consumer rate on the same topic, and its correctness.
    Budget("Flink job / Kafka consumer rate", "", 0.60, at_most=False),
    # Beyond the job's rounding of each window to cents (see flink_throughput.revenue_mismatch).
    Budget("Flink windows' revenue - revenue sent", "USD", 0.0, at_most=True, absolute=True),
    Budget("Flink events counted - events sent", "events", 0, at_most=True, absolute=True),
)


@dataclass(frozen=True)
class Outcome:
    budget: Budget
    measured: float | None
    verdict: Verdict


def check(budgets: Iterable[Budget], measured: Mapping[str, float | None]) -> list[Outcome]:
    """Each budget's verdict on the measured values; an absent value is MISSING, not a pass."""
    outcomes = []
    for budget in budgets:
        value = measured.get(budget.key)
        if value is None:
            verdict = Verdict.MISSING
        else:
            compared = abs(value) if budget.absolute else value
            within = compared <= budget.limit if budget.at_most else compared >= budget.limit
            verdict = Verdict.MET if within else Verdict.MISSED
        outcomes.append(Outcome(budget, value, verdict))
    return outcomes


def all_passed(outcomes: Iterable[Outcome]) -> bool:
    return all(outcome.verdict is Verdict.MET for outcome in outcomes)


def render(outcomes: Iterable[Outcome]) -> str:
    lines = [f"{'budget figure':<52} {'measured':>10}  {'budget':<14} verdict"]
    for outcome in outcomes:
        value = "-" if outcome.measured is None else f"{outcome.measured:,.3f}"
        lines.append(
            f"{outcome.budget.key:<52} {value:>10}  {outcome.budget.describe():<14} "
            f"{outcome.verdict}"
        )
    return "\n".join(lines)
