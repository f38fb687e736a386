"""The budget check that decides whether `make bench` fails, and the figures it is fed from
(Kafka's consumer tool, the Flink windows, CPU per unit of work)."""

from datetime import UTC, datetime, timedelta

import pytest

from bench import budgets, flink_throughput, run
from bench.budgets import BUDGETS, Budget, Verdict, check
from bench.footprint import CpuSample, CpuUse
from bench.limits import parse_consumer_summary

COST = Budget("gateway CPU per GET", "ms", 0.4, at_most=True)
RATE = Budget("orders/s", "orders/s", 20, at_most=False)
DIFFERENCE = Budget("revenue - sent", "USD", 0.0, at_most=True, absolute=True)


def verdicts(measured: dict[str, float | None]) -> list[Verdict]:
    return [outcome.verdict for outcome in check([COST, RATE, DIFFERENCE], measured)]


def test_a_cost_passes_up_to_its_limit_and_fails_above() -> None:
    assert verdicts({COST.key: 0.4, RATE.key: 20, DIFFERENCE.key: 0})[0] is Verdict.MET
    assert verdicts({COST.key: 0.41, RATE.key: 20, DIFFERENCE.key: 0})[0] is Verdict.MISSED


def test_a_rate_passes_from_its_limit_and_fails_below() -> None:
    assert verdicts({COST.key: 0.1, RATE.key: 20.0, DIFFERENCE.key: 0})[1] is Verdict.MET
    assert verdicts({COST.key: 0.1, RATE.key: 19.9, DIFFERENCE.key: 0})[1] is Verdict.MISSED


def test_a_difference_fails_in_either_direction() -> None:
    assert verdicts({COST.key: 0.1, RATE.key: 30, DIFFERENCE.key: -12.5})[2] is Verdict.MISSED
    assert verdicts({COST.key: 0.1, RATE.key: 30, DIFFERENCE.key: 12.5})[2] is Verdict.MISSED


def test_a_figure_the_run_did_not_measure_fails_the_run() -> None:
    outcomes = check([COST, RATE], {COST.key: 0.2, RATE.key: None})
    assert [o.verdict for o in outcomes] == [Verdict.MET, Verdict.MISSING]
    assert not budgets.all_passed(outcomes)
    assert budgets.all_passed(check([COST], {COST.key: 0.2}))


def test_the_budget_table_holds_issue_24s_limits_once_each() -> None:
    by_key = {budget.key: budget for budget in BUDGETS}
    assert len(by_key) == len(BUDGETS)
    assert by_key["gateway CPU per product GET via gateway"].limit == 0.4
    assert by_key["checkout CPU per order, seven Python services"].limit == 25
    assert by_key["checkout CPU per order, whole local stack"].limit == 90
    assert by_key["Flink job / Kafka consumer rate"].limit == 0.60
    assert not by_key["checkout orders/s, 20 buyers, no think time"].at_most
    assert by_key["checkout p99, 100 Locust users"].full_run_only


def test_render_shows_measured_budget_and_verdict() -> None:
    row = budgets.render(check([COST], {COST.key: 0.523})).splitlines()[1]
    assert row.split() == ["gateway", "CPU", "per", "GET", "0.523", "<=", "0.4", "ms", "FAIL"]


def test_consumer_performance_summary_gives_the_fetch_rate() -> None:
    output = (
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "2026-12-06 21:20:01:000, 2026-12-06 21:20:05:000, 97.6, 24.4, 200003, 50000.7, "
        "3012, 988, 98.8, 202432.2\n"
    )
    figure = parse_consumer_summary(output)
    assert (figure.throughput, figure.requests) == (202432.2, 200003)
    with pytest.raises(ValueError, match="not a ConsumerPerformance summary"):
        parse_consumer_summary("WARN no such topic")


def _window(index: int, orders: int, value: float, emitted_after_s: float) -> dict[str, object]:
    """A window of `orders` created orders worth `value`, none paid (what the bench sends)."""
    start = flink_throughput.START + timedelta(seconds=5 * index)
    emitted = datetime(2026, 12, 6, 21, 0, tzinfo=UTC) + timedelta(seconds=emitted_after_s)
    return {
        "window_start": start.isoformat().replace("+00:00", "Z"),
        "window_end": (start + timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
        "emitted_at": emitted.isoformat().replace("+00:00", "Z"),
        "order_count": orders,
        "gross_order_value": value,
        "revenue": 0.0,
    }


def test_flink_rate_counts_only_the_events_read_after_the_first_result() -> None:
    # 20,000 events 1 ms apart: 4 windows; the first result needs 5 s + 1 s of events.
    windows = [_window(i, 5000, 100.0, emitted_after_s=i * 0.5) for i in range(4)]
    assert flink_throughput.events_per_second(windows, 20_000) == round(14_000 / 1.5)
    assert flink_throughput.events_per_second(windows[:1], 20_000) is None


def test_flink_revenue_mismatch_allows_rounding_to_cents_only() -> None:
    windows = [_window(i, 10, 100.004, emitted_after_s=i) for i in range(4)]
    assert flink_throughput.revenue_mismatch(400.0, windows) == 0.0  # 1.6 cents over 4 windows
    assert flink_throughput.revenue_mismatch(420.0, windows) == -19.98


def test_cpu_per_unit_sums_the_named_components() -> None:
    use = CpuUse({"gateway": 2.0, "products": 1.0, "kafka": 3.0}, wall_seconds=10)
    assert use.per_unit_ms(1000, ["gateway", "products"]) == pytest.approx(3.0)
    assert use.per_unit_ms(0, ["gateway"]) is None


def test_cpu_use_counts_a_restarted_component_from_its_new_process() -> None:
    before = CpuSample({"gateway": 50.0, "products": 20.0}, {"gateway": 10, "products": 11}, 100)
    after = CpuSample({"gateway": 52.5, "products": 1.5}, {"gateway": 10, "products": 99}, 110)
    use = CpuUse.between(before, after)
    assert use.seconds_by_component == {"gateway": 2.5, "products": 1.5}
    assert (use.unsettled, use.wall_seconds) == (("products",), 10)


def test_cpu_use_flags_a_component_that_had_only_just_started() -> None:
    before = CpuSample({"kafka": 9.0}, {"kafka": 7}, 100, uptime={"kafka": 4.0})
    after = CpuSample({"kafka": 12.0}, {"kafka": 7}, 110, uptime={"kafka": 14.0})
    assert CpuUse.between(before, after).unsettled == ("kafka",)
    settled = CpuSample({"kafka": 9.0}, {"kafka": 7}, 100, uptime={"kafka": 400.0})
    assert CpuUse.between(settled, after).unsettled == ()


def test_the_run_measures_every_budgeted_figure_by_its_key() -> None:
    # A key spelt differently in the run and in the table would only ever show MISSING.
    assert set(run._measured({}, {})) == {budget.key for budget in BUDGETS}
