"""Offline checks of deploy/observability: alert rules and their promtool tests, runbooks,
dashboards and the Fluent Bit pipeline. Needs promtool on PATH, not the local stack.

    .venv/bin/pytest -p no:cacheprovider deploy/observability/tests -q
"""

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.observability.dashboards.generate import expand_variables

HERE = Path(__file__).resolve().parent
OBSERVABILITY = HERE.parent
REPO = OBSERVABILITY.parents[1]
RULE_FILES = sorted((OBSERVABILITY / "rules").glob("*.yml"))
TEST_FILES = sorted(HERE.glob("*.test.yml"))
DASHBOARDS = OBSERVABILITY / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
RUNBOOKS = REPO / "docs" / "runbooks.md"
FLUENT_BIT = OBSERVABILITY / "fluent-bit" / "fluent-bit.yaml"
RUNBOOK_URL = re.compile(r"^docs/runbooks\.md#([a-z0-9-]+)$")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Prometheus) is not on PATH"
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _rules() -> list[dict[str, Any]]:
    return [
        rule for path in RULE_FILES for group in _load(path)["groups"] for rule in group["rules"]
    ]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}


def _panel_exprs() -> list[str]:
    return [
        target["expr"]
        for dashboard in _dashboards().values()
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, - for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])[A-Za-z_:][\w:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _GROUPING):
        expr = pattern.sub(" ", expr)
    return {
        match.group()
        for match in _IDENTIFIER.finditer(expr)
        if match.group() not in _KEYWORDS and not re.match(r"\s*\(", expr[match.end() :])
    }


def test_metric_names_reads_names_not_functions_or_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (service, le) (rate(x_bucket{route!~"a|b"}[5m])))'
        " / on (service) group_left y:z:rate5m unless time() - w offset 1h > bool 1e3"
    )
    assert metric_names(expr) == {"x_bucket", "y:z:rate5m", "w"}


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda path: path.name)
def test_rule_file_passes_promtool_check(rule_file: Path) -> None:
    result = _promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.name)
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    result = _promtool("test", "rules", str(test_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_names_are_unique() -> None:
    names = [alert["alert"] for alert in _alerts()]
    assert len(names) == len(set(names)), names


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for alert in _alerts():
        name = alert["alert"]
        assert alert.get("labels", {}).get("severity") in {"page", "ticket"}, name
        annotations = alert.get("annotations", {})
        for key in ("summary", "description"):
            assert annotations.get(key, "").strip(), f"{name} has no {key}"
        assert RUNBOOK_URL.match(annotations.get("runbook_url", "")), name


def test_every_runbook_url_points_at_a_section_of_the_runbooks() -> None:
    headings = re.findall(r"^#+ (.+)$", RUNBOOKS.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {_github_anchor(heading) for heading in headings}
    for alert in _alerts():
        match = RUNBOOK_URL.match(alert["annotations"]["runbook_url"])
        assert match, alert["alert"]
        assert match.group(1) in anchors, f"{alert['alert']}: no section #{match.group(1)}"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for test in _load(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert not names - fired, f"never tested firing: {sorted(names - fired)}"
    assert not names - silent, f"never tested staying silent: {sorted(names - silent)}"
    assert not (fired | silent) - names, (
        f"tests of unknown alerts: {sorted((fired | silent) - names)}"
    )


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(DASHBOARDS / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_have_fixed_uids_and_a_prometheus_datasource_variable() -> None:
    dashboards = _dashboards()
    assert set(dashboards) == {
        "platform-overview.json",
        "orders-revenue.json",
        "kafka-outbox.json",
        "flink-job.json",
    }
    uids = [dashboard["uid"] for dashboard in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for name, dashboard in dashboards.items():
        assert dashboard["schemaVersion"] == 39, name
        variables = {var["name"]: var for var in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "prometheus", name
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            # Every $variable a query uses is defined.
            for target in panel["targets"]:
                used = set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval", "__range"}
                assert used <= set(variables), (name, panel["title"], used)


def test_dashboard_panels_have_queries_unique_ids_and_positions() -> None:
    for name, dashboard in _dashboards().items():
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in dashboard["panels"]:
            assert panel["type"] in {"timeseries", "stat"}, (name, panel["title"])
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["expr"].strip(), (name, panel["title"])


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool has no bare query parser: check the queries as recording rules, with
    # Grafana's variables replaced by what they expand to.
    rules = [
        {"record": f"dashboard:query:{number}", "expr": expand_variables(expr)}
        for number, expr in enumerate(_panel_exprs())
    ]
    rule_file = tmp_path / "dashboards.rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = _promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_and_dashboards_read_only_contract_metrics() -> None:
    contract = set((OBSERVABILITY / "metric-names.txt").read_text(encoding="utf-8").split())
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    exprs = [rule["expr"] for rule in _rules()] + _panel_exprs()
    used = set().union(*(metric_names(expr) for expr in exprs))
    # Names with a colon are recording rules, which Prometheus only has if rules/ defines them.
    assert not {name for name in used if ":" in name} - recorded
    assert not {name for name in used if ":" not in name} - contract


def _fluent_bit() -> dict[str, Any]:
    config: dict[str, Any] = _load(FLUENT_BIT)
    return config


def _plugins(kind: str) -> dict[str, dict[str, Any]]:
    return {plugin["name"]: plugin for plugin in _fluent_bit()["pipeline"][kind]}


def test_fluent_bit_tails_container_logs_with_the_runtime_parsers() -> None:
    tail = _plugins("inputs")["tail"]
    assert tail["path"] == "/var/log/containers/*.log"
    assert {"cri", "docker"} <= {p.strip() for p in tail["multiline.parser"].split(",")}
    assert {"kubernetes", "parser", "grep"} <= set(_plugins("filters"))


def test_fluent_bit_parses_the_services_json_lines() -> None:
    parser_filter = _plugins("filters")["parser"]
    parsers = {parser["name"]: parser for parser in _fluent_bit()["parsers"]}
    parser = parsers[parser_filter["parser"]]
    assert parser["format"] == "json"
    assert parser_filter["key_name"] == "log"
    assert parser_filter["reserve_data"] is True  # keeps the kubernetes metadata
    # A line as cloudmart_common.log writes it; Fluent Bit's %L is the fraction of a second.
    line = (
        '{"timestamp": "2026-11-28T02:14:54.891Z", "level": "INFO", "logger": "cloudmart.orders",'
        ' "message": "order placed", "service": "orders", "request_id": "r1", "trace_id": null,'
        ' "span_id": null, "user_id": "u1"}'
    )
    record = json.loads(line)
    time_format = parser["time_format"].replace("%L", "%f")
    assert datetime.strptime(record[parser["time_key"]], time_format).microsecond == 891000


def test_fluent_bit_drops_probe_and_scrape_access_lines_only() -> None:
    key, _, pattern = _plugins("filters")["grep"]["exclude"].partition(" ")
    assert key == "message"
    dropped = re.compile(pattern)
    for probe in ("/health", "/ready", "/metrics", "/health?full=1"):
        assert dropped.search(f'10.0.0.7:51234 - "GET {probe} HTTP/1.1" 200')
    for kept in ('10.0.0.7:51234 - "GET /api/orders HTTP/1.1" 200', "health check failed"):
        assert not dropped.search(kept)


def test_fluent_bit_ships_to_opensearch_in_daily_cloudmart_indices() -> None:
    es = _plugins("outputs")["opensearch"]
    assert es["tls"] is True
    assert es["match"] == "kube.*"
    assert es["logstash_format"] is True
    assert es["logstash_prefix"] == "cloudmart"
    assert isinstance(es["retry_limit"], int)
    assert es["retry_limit"] > 0


MONITORING_APPS = REPO / "deploy" / "argocd" / "apps" / "monitoring.yaml"


def _alertmanager() -> dict[str, Any]:
    stack = next(
        doc
        for doc in yaml.safe_load_all(MONITORING_APPS.read_text())
        if doc["metadata"]["name"] == "kube-prometheus-stack"
    )
    alertmanager: dict[str, Any] = stack["spec"]["source"]["helm"]["valuesObject"]["alertmanager"]
    return alertmanager


def _receiver_of(route: dict[str, Any], labels: dict[str, str]) -> str:
    """The receiver Alertmanager picks for an alert with these labels (first matching route)."""
    for child in route.get("routes", []):
        wanted = dict(m.replace('"', "").split("=", 1) for m in child["matchers"])
        if all(labels.get(key) == value for key, value in wanted.items()):
            return _receiver_of(child, labels)
    receiver: str = route["receiver"]
    return receiver


def test_every_alert_reaches_a_person_by_severity() -> None:
    config = _alertmanager()["config"]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    for alert in _alerts():
        chosen = _receiver_of(config["route"], {"alertname": alert["alert"], **alert["labels"]})
        expected = {"page": "pagerduty-pages", "ticket": "slack-tickets"}
        assert chosen == expected[alert["labels"]["severity"]], alert["alert"]
        assert receivers[chosen] != {"name": chosen}, f"{chosen} notifies nobody"


def test_alertmanager_keys_come_from_the_mounted_secret_only() -> None:
    alertmanager = _alertmanager()
    assert alertmanager["alertmanagerSpec"]["secrets"] == ["cloudmart-alertmanager"]
    mounted = "/etc/alertmanager/secrets/cloudmart-alertmanager/"
    receivers = {r["name"]: r for r in alertmanager["config"]["receivers"]}
    [pagerduty] = receivers["pagerduty-pages"]["pagerduty_configs"]
    [slack] = receivers["slack-tickets"]["slack_configs"]
    assert pagerduty["routing_key_file"].startswith(mounted)
    assert slack["api_url_file"].startswith(mounted)
    assert not {"routing_key", "service_key"} & set(pagerduty)
    assert "api_url" not in slack
    # A page hides the ticket of the same alert, never the other way round.
    [inhibit] = alertmanager["config"]["inhibit_rules"]
    assert inhibit["source_matchers"] == ['severity="page"']
    assert inhibit["target_matchers"] == ['severity="ticket"']
