"""CloudMart's Grafana dashboards as code: writes the dashboard JSON files beside this script.

    python deploy/observability/dashboards/generate.py          # (re)write the JSON files
    python deploy/observability/dashboards/generate.py --check  # exit 1 if they are stale

The JSON files are committed: edit this script, regenerate, commit both. Each file is a complete
Grafana dashboard model with a fixed uid and a `${datasource}` variable (any Prometheus data
source), so the same file is provisioned unchanged everywhere: by a Grafana file provider whose
`options.path` is this directory, or in Kubernetes as one ConfigMap per file labelled
`grafana_dashboard: "1"`, which kube-prometheus-stack's Grafana sidecar loads.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 39
GRID_WIDTH = 24  # Grafana's grid is 24 columns wide

DATASOURCE: Json = {"type": "prometheus", "uid": "${datasource}"}
# The HTTP services, with probes and scrapes left out as in the SLOs (rules/slo.rules.yml).
SERVICES = 'job="cloudmart", service=~"$service"'
HTTP = SERVICES + ', route!~"/health|/ready|/metrics"'
FLINK = 'job="analytics", job_name=~"$job_name"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def _targets(queries: tuple[Query, ...]) -> list[Json]:
    return [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": q.expr,
            "legendFormat": q.legend,
        }
        for i, q in enumerate(queries)
    ]


def timeseries(
    title: str,
    unit: str,
    *queries: Query,
    description: str = "",
    width: int = 12,
    stacked: bool = False,
) -> Json:
    """A time series panel; layout() gives it its id and position."""
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": width},
        "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "palette-classic"},
                "custom": {
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 20 if stacked else 0,
                    "showPoints": "never",
                    "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
                },
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    title: str,
    unit: str,
    *queries: Query,
    description: str = "",
    width: int = 6,
    thresholds: tuple[tuple[str, float | None], ...] = (("green", None),),
    mappings: tuple[Json, ...] = (),
) -> Json:
    """A single-value panel; thresholds are (colour, from value) steps, the first from None."""
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 4, "w": width},
        "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": color, "value": value} for color, value in thresholds],
                },
                "mappings": list(mappings),
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        },
    }


def layout(panels: list[Json]) -> list[Json]:
    """Numbers the panels and flows them left to right, top to bottom, in the order given."""
    x = y = row_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        width, height = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        panel["id"] = panel_id
        panel["gridPos"] = {"h": height, "w": width, "x": x, "y": y}
        x += width
        row_height = max(row_height, height)
    return panels


def datasource_variable() -> Json:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }


def query_variable(name: str, label: str, query: str) -> Json:
    """A multi-value variable filled from label values, 'All' matching everything."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "current": {},
        "hide": 0,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "refresh": 2,  # on time range change: services come and go
        "sort": 1,
        "regex": "",
        "options": [],
    }


# What the variables stand for when a query runs outside Grafana (promtool, the live
# Prometheus in the stack tests): Grafana's own intervals, and "All" for ours.
VARIABLE_VALUES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${service}": ".*",
    "$service": ".*",
    "${job_name}": ".*",
    "$job_name": ".*",
}


def expand_variables(expr: str) -> str:
    for variable, value in VARIABLE_VALUES.items():
        expr = expr.replace(variable, value)
    return expr


SERVICE_VARIABLE = query_variable(
    "service", "Service", 'label_values(up{job="cloudmart"}, service)'
)


def dashboard(
    uid: str, title: str, description: str, variables: list[Json], panels: list[Json]
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["cloudmart"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,  # shared crosshair
        "timezone": "utc",
        "time": {"from": "now-3h", "to": "now"},
        "refresh": "30s",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout(panels),
    }


def _rate(metric: str, selector: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{selector}}}[$__rate_interval]))"


def _per_minute(metric: str, by: str) -> str:
    # Orders, payments and notifications are a few per minute: per second reads as 0.0x.
    return f"60 * sum by ({by}) (rate({metric}[$__rate_interval]))"


def _in_range(metric: str, selector: str = "") -> str:
    matchers = f"{{{selector}}}" if selector else ""
    return f"sum(increase({metric}{matchers}[$__range]))"


def _latency(quantile: float) -> Json:
    buckets = _rate("http_request_duration_seconds_bucket", HTTP, "service, le")
    query = Query(f"histogram_quantile({quantile}, {buckets})", "{{service}}")
    return timeseries(f"Latency p{round(quantile * 100)}", "s", query, width=8)


def _burn_rate(slo: str, sli: str, budget: float) -> Json:
    """How many times faster than sustainable a service spends its error budget."""
    return timeseries(
        f"{slo} budget burn rate (1h)",
        "none",
        Query(f'{sli}{{service=~"$service"}} / {budget}', "{{service}}"),
        description="1 spends the 30-day budget in exactly 30 days; 14.4 sustained pages.",
    )


UP_MAPPINGS: tuple[Json, ...] = (
    {"type": "value", "options": {"0": {"text": "DOWN", "color": "red", "index": 0}}},
    {"type": "value", "options": {"1": {"text": "UP", "color": "green", "index": 1}}},
)
IN_RANGE = "over the selected time range"


def platform_overview() -> Json:
    requests = _rate("http_requests_total", HTTP, "service")
    errors = _rate("http_requests_total", HTTP + ', status=~"5.."', "service")
    failed_calls = _rate(
        "service_calls_total", SERVICES + ', outcome!~"ok|success"', "service, upstream, outcome"
    )
    pool_in_use = (
        f'sum by (service) (db_pool_connections{{{SERVICES}, state="checked_out"}})'
        f" / sum by (service) (db_pool_size{{{SERVICES}}})"
    )
    cache_hits = _rate("cache_lookups_total", SERVICES + ', outcome="hit"', "service, cache")
    cache_lookups = _rate("cache_lookups_total", SERVICES, "service, cache")
    return dashboard(
        "cloudmart-platform-overview",
        "CloudMart / Platform overview",
        "Rate, errors and duration of every service, and what they depend on.",
        [SERVICE_VARIABLE],
        [
            stat(
                "Up",
                "none",
                Query(f"min by (service) (up{{{SERVICES}}})", "{{service}}"),
                description="DOWN when any instance of the service cannot be scraped.",
                width=24,
                thresholds=(("red", None), ("green", 1)),
                mappings=UP_MAPPINGS,
            ),
            timeseries("Request rate", "reqps", Query(requests, "{{service}}")),
            timeseries(
                "Error ratio (5xx)",
                "percentunit",
                Query(f"{errors} / {requests}", "{{service}}"),
                description="Availability SLO: 99.9 % of requests without a 5xx.",
            ),
            _latency(0.5),
            _latency(0.95),
            _latency(0.99),
            _burn_rate("Availability", "service:http_request_error_ratio:rate1h", 0.001),
            _burn_rate("Latency", "service:http_request_slow_ratio:rate1h", 0.01),
            timeseries(
                "Requests in flight",
                "short",
                Query(f"sum by (service) (http_requests_in_flight{{{SERVICES}}})", "{{service}}"),
            ),
            timeseries(
                "Upstream calls not OK",
                "reqps",
                Query(failed_calls, "{{service}} → {{upstream}} {{outcome}}"),
            ),
            timeseries(
                "Circuit breakers open",
                "bool_on_off",
                Query(
                    f"max by (service, upstream) (circuit_breaker_open{{{SERVICES}}})",
                    "{{service}} → {{upstream}}",
                ),
            ),
            timeseries(
                "Rate-limited requests (gateway)",
                "reqps",
                Query(_rate("gateway_rate_limited_total", 'job="cloudmart"', "limit"), "{{limit}}"),
            ),
            timeseries("Database pool in use", "percentunit", Query(pool_in_use, "{{service}}")),
            timeseries(
                "Cache hit ratio",
                "percentunit",
                Query(f"{cache_hits} / {cache_lookups}", "{{service}} {{cache}}"),
            ),
        ],
    )


def orders_revenue() -> Json:
    paid = _in_range("orders_placed_total", 'outcome="paid"')
    succeeded = _in_range("payments_total", 'outcome="succeeded"')
    revenue_per_hour = "3600 * sum by (currency) (rate(orders_revenue_total[$__rate_interval]))"
    return dashboard(
        "cloudmart-orders-revenue",
        "CloudMart / Orders and revenue",
        "Checkouts, order lifecycle, revenue, payments, stock and notifications.",
        [],
        [
            stat("Orders paid", "short", Query(paid), description=IN_RANGE),
            stat(
                "Revenue",
                "short",
                Query(
                    "sum by (currency) (increase(orders_revenue_total[$__range]))", "{{currency}}"
                ),
                description=f"Money of paid orders per currency, {IN_RANGE}.",
            ),
            stat(
                "Checkouts paid",
                "percentunit",
                Query(f"{paid} / {_in_range('orders_placed_total')}"),
                description=f"Share of checkouts that ended paid, {IN_RANGE}.",
            ),
            stat(
                "Payments succeeded",
                "percentunit",
                Query(f"{succeeded} / {_in_range('payments_total')}"),
                description=IN_RANGE,
                thresholds=(("red", None), ("orange", 0.8), ("green", 0.9)),
            ),
            timeseries(
                "Checkouts by outcome",
                "opm",
                Query(_per_minute("orders_placed_total", "outcome"), "{{outcome}}"),
                stacked=True,
            ),
            timeseries(
                "Order status transitions",
                "opm",
                Query(_per_minute("order_transitions_total", "to_status"), "{{to_status}}"),
            ),
            timeseries("Revenue per hour", "short", Query(revenue_per_hour, "{{currency}}")),
            timeseries(
                "Payments by outcome",
                "opm",
                Query(_per_minute("payments_total", "outcome"), "{{outcome}}"),
                stacked=True,
            ),
            timeseries(
                "Refunds by outcome",
                "opm",
                Query(_per_minute("refunds_total", "outcome"), "{{outcome}}"),
                stacked=True,
            ),
            timeseries(
                "Stock reservations by outcome",
                "opm",
                Query(_per_minute("stock_reservations_total", "outcome"), "{{outcome}}"),
            ),
            timeseries(
                "Notifications by channel and outcome",
                "opm",
                Query(
                    _per_minute("notifications_sent_total", "channel, outcome"),
                    "{{channel}} {{outcome}}",
                ),
                width=24,
            ),
        ],
    )


def kafka_outbox() -> Json:
    dlq = 'max(notifications_dlq_messages{job="cloudmart"})'
    oldest = f"outbox_oldest_unsent_age_seconds{{{SERVICES}}}"
    return dashboard(
        "cloudmart-kafka-outbox",
        "CloudMart / Kafka and outbox",
        "Events from the outboxes to Kafka, and consumers keeping up with them.",
        [SERVICE_VARIABLE],
        [
            stat(
                "Oldest unsent outbox event",
                "s",
                Query(f"max({oldest})"),
                description="OutboxBacklogOld pages above 60 s.",
                thresholds=(("green", None), ("orange", 10), ("red", 60)),
            ),
            stat("Unsent outbox rows", "short", Query(f"sum(outbox_backlog{{{SERVICES}}})")),
            stat(
                "Largest consumer lag",
                "short",
                Query(f"max(kafka_consumer_lag{{{SERVICES}}})"),
                thresholds=(("green", None), ("orange", 1000)),
            ),
            stat(
                "Records in notifications-dlq",
                "short",
                Query(dlq),
                thresholds=(("green", None), ("red", 1)),
            ),
            timeseries(
                "Consumer lag per partition",
                "short",
                Query(
                    f"max by (group, topic, partition) (kafka_consumer_lag{{{SERVICES}}})",
                    "{{group}} {{topic}}/{{partition}}",
                ),
            ),
            timeseries(
                "Events handled by outcome",
                "ops",
                Query(
                    _rate("kafka_events_handled_total", SERVICES, "group, topic, outcome"),
                    "{{group}} {{topic}} {{outcome}}",
                ),
            ),
            timeseries(
                "Unsent outbox rows",
                "short",
                Query(f"max by (service) (outbox_backlog{{{SERVICES}}})", "{{service}}"),
            ),
            timeseries(
                "Oldest unsent outbox event",
                "s",
                Query(f"max by (service) ({oldest})", "{{service}}"),
            ),
            timeseries(
                "Outbox events published",
                "ops",
                Query(
                    _rate("outbox_published_total", SERVICES, "service, topic"),
                    "{{service}} → {{topic}}",
                ),
            ),
            timeseries(
                "Outbox publish failures",
                "ops",
                Query(_rate("outbox_publish_failures_total", SERVICES, "service"), "{{service}}"),
            ),
            timeseries(
                "Records in notifications-dlq", "short", Query(dlq, "notifications-dlq"), width=24
            ),
        ],
    )


def flink_job() -> Json:
    operator = "flink_taskmanager_job_task_operator_"
    # The slowest subtask holds an operator's watermark back; a subtask without a watermark
    # yet reports Long.MIN_VALUE, hence `> 0`. Watermarks are epoch milliseconds.
    watermark_lag = (
        f"time() - min by (operator_name) ({operator}currentInputWatermark{{{FLINK}}} > 0) / 1000"
    )
    kafka_lag = f"{operator}KafkaSourceReader_KafkaConsumer_records_lag_max{{{FLINK}}}"

    def checkpoints(kind: str, window: str) -> str:
        return f"sum(increase(flink_jobmanager_job_numberOf{kind}Checkpoints{{{FLINK}}}[{window}]))"

    def per_operator(metric: str) -> Query:
        return Query(f"sum by (operator_name) ({operator}{metric}{{{FLINK}}})", "{{operator_name}}")

    def per_job(metric: str) -> Query:
        return Query(
            f"max by (job_name) (flink_jobmanager_job_{metric}{{{FLINK}}})", "{{job_name}}"
        )

    return dashboard(
        "cloudmart-flink-job",
        "CloudMart / Flink analytics job",
        "Throughput, checkpoints, restarts and lag of the streaming analytics job.",
        [
            query_variable(
                "job_name",
                "Job",
                'label_values(flink_jobmanager_job_uptime{job="analytics"}, job_name)',
            )
        ],
        [
            stat(
                "Flink targets up",
                "short",
                Query('sum(up{job="analytics"})'),
                thresholds=(("red", None), ("green", 1)),
            ),
            stat(
                "Uptime",
                "ms",
                Query(f"max(flink_jobmanager_job_uptime{{{FLINK}}})"),
                description="0 while restarting.",
                thresholds=(("red", None), ("green", 1)),
            ),
            stat(
                "Restarts",
                "short",
                Query(_in_range("flink_jobmanager_job_numRestarts", FLINK)),
                description=IN_RANGE,
                thresholds=(("green", None), ("orange", 1), ("red", 2)),
            ),
            stat(
                "Failed checkpoints",
                "short",
                Query(checkpoints("Failed", "$__range")),
                description=IN_RANGE,
                thresholds=(("green", None), ("red", 1)),
            ),
            timeseries("Records in per second", "short", per_operator("numRecordsInPerSecond")),
            timeseries("Records out per second", "short", per_operator("numRecordsOutPerSecond")),
            timeseries(
                "Checkpoints",
                "short",
                Query(checkpoints("Completed", "$__rate_interval"), "completed"),
                Query(checkpoints("Failed", "$__rate_interval"), "failed"),
            ),
            timeseries("Last checkpoint duration", "ms", per_job("lastCheckpointDuration")),
            timeseries("Restarts since submission", "short", per_job("numRestarts")),
            timeseries(
                "Watermark lag",
                "s",
                Query(watermark_lag, "{{operator_name}}"),
                description="How far event time trails wall-clock time.",
            ),
            timeseries(
                "Kafka source lag",
                "short",
                Query(f"max by (operator_name) ({kafka_lag})", "{{operator_name}}"),
                description="Records the Kafka source is behind, on its worst partition.",
                width=24,
            ),
        ],
    )


DASHBOARDS = {
    "platform-overview.json": platform_overview,
    "orders-revenue.json": orders_revenue,
    "kafka-outbox.json": kafka_outbox,
    "flink-job.json": flink_job,
}


def render(model: Json) -> str:
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed JSON is not up to date"
    )
    args = parser.parse_args(argv)
    stale: list[str] = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build())
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    # A JSON file nothing generates any more would still be provisioned.
    orphans = sorted(p.name for p in HERE.glob("*.json") if p.name not in DASHBOARDS)
    if stale:
        print(f"out of date, run {Path(__file__).name}: {', '.join(stale)}", file=sys.stderr)
    if orphans:
        print(f"not generated by {Path(__file__).name}: {', '.join(orphans)}", file=sys.stderr)
    return 1 if stale or orphans else 0


if __name__ == "__main__":
    sys.exit(main())
