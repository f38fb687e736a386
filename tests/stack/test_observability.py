"""The local Prometheus: config and rules pass promtool, every rule evaluates, every target is
up, every metric of the contract is exposed, and every dashboard query runs."""

import json
import re
import subprocess
from typing import Any

import httpx

from cloudmart_local.layout import (
    FLINK_METRICS_PORT,
    OBSERVABILITY,
    PROMETHEUS_PORT,
    RUN,
    SERVICE_PORTS,
)
from deploy.observability.dashboards.generate import expand_variables
from tests.stack_control import service_url, wait_for

PROMETHEUS = f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1"


def _api(path: str, **params: str) -> Any:
    response = httpx.get(f"{PROMETHEUS}/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def test_the_rendered_config_and_its_rules_pass_promtool() -> None:
    checked = subprocess.run(
        ["promtool", "check", "config", str(RUN / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    assert "rules found" in checked.stdout


def test_every_rule_is_loaded_and_evaluates() -> None:
    def healthy() -> list[dict[str, Any]] | None:
        rules = [rule for group in _api("rules")["groups"] for rule in group["rules"]]
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

    rules = wait_for(healthy, timeout=45, interval=3, what="every rule evaluated without error")
    assert any(rule["type"] == "alerting" for rule in rules)


def test_every_service_and_the_flink_job_are_up() -> None:
    def targets() -> dict[str, str] | None:
        active = _api("targets")["activeTargets"]
        health = {
            target["labels"].get("service", target["labels"]["job"]): target["health"]
            for target in active
        }
        wanted = {*SERVICE_PORTS, "analytics"}
        return health if all(health.get(name) == "up" for name in wanted) else None

    wait_for(targets, timeout=45, interval=3, what="every target up in Prometheus")


def _exposition() -> str:
    pages = [httpx.get(f"{service_url(name)}/metrics", timeout=10).text for name in SERVICE_PORTS]
    pages.append(httpx.get(f"http://127.0.0.1:{FLINK_METRICS_PORT}/metrics", timeout=10).text)
    return "\n".join(pages)


def test_every_metric_of_the_contract_is_exposed() -> None:
    names = [
        line.strip()
        for line in (OBSERVABILITY / "metric-names.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and line.strip() != "up"
    ]
    # `# TYPE` is printed for a labelled metric before its first sample, too.
    exposed = set(re.findall(r"^# TYPE (\S+) (\S+)", _exposition(), re.MULTILINE))
    exposed_names = {name for name, _ in exposed} | {
        f"{name}_total" for name, kind in exposed if kind == "counter"
    }
    histograms = {name for name, kind in exposed if kind == "histogram"}
    exposed_names |= {f"{h}_{part}" for h in histograms for part in ("bucket", "sum", "count")}
    missing = [name for name in names if name not in exposed_names]
    assert missing == []


def _dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in sorted((OBSERVABILITY / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                queries.append((f"{path.stem}: {panel['title']}", target["expr"]))
    return queries


def test_every_dashboard_query_runs_on_the_live_prometheus() -> None:
    queries = _dashboard_queries()
    assert len(queries) >= 20
    failures = []
    for title, expr in queries:
        response = httpx.get(
            f"{PROMETHEUS}/query", params={"query": expand_variables(expr)}, timeout=10
        )
        if response.status_code != 200 or response.json()["status"] != "success":
            failures.append((title, expr, response.text[:200]))
    assert failures == []
