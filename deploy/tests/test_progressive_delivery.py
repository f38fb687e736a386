"""The gateway's Argo Rollouts canary and the notifications' KEDA scaling (ADR 0021).

Both render only where their values turn them on (prod). The rendered Rollout, AnalysisTemplate
and ScaledObject are validated against their projects' CRDs (k8s.GENERATED_CRDS); the checks
here add what a schema cannot know: the analysis reads metrics the services really expose, on
the series the ServiceMonitor really labels, and KEDA never asks for more consumers than the
topic has partitions.
"""

import copy
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudmart_common import topology
from deploy.observability.tests.test_observability_config import metric_names
from deploy.tests import k8s
from deploy.tests.k8s import Manifest
from deploy.tests.tools import ROOT

METRIC_CONTRACT = ROOT / "deploy" / "observability" / "metric-names.txt"
ARGOCD_APPS = ROOT / "deploy" / "argocd" / "apps"
INSTALL_SH = ROOT / "deploy" / "tools" / "install.sh"
GATEWAY = "cloudmart-gateway"
NOTIFICATIONS = "cloudmart-notifications"
# The pod label Argo Rollouts sets, as Prometheus names it once podTargetLabels copies it.
HASH_LABEL = "rollouts-pod-template-hash"
HASH_SERIES_LABEL = "rollouts_pod_template_hash"


@cache
def rendered(environment: str) -> tuple[Manifest, ...]:
    return tuple(k8s.render(k8s.CHART, environment))


def named(environment: str, kind: str, name: str) -> Manifest:
    (found,) = [
        d for d in rendered(environment) if d["kind"] == kind and d["metadata"]["name"] == name
    ]
    return copy.deepcopy(found)


def kinds(environment: str) -> set[str]:
    return {d["kind"] for d in rendered(environment)}


def selected_by(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# --- what a schema cannot check ------------------------------------------------------------------


def analysis_problems(template: Manifest, monitor: Manifest) -> list[str]:
    """Why an AnalysisTemplate would measure nothing real (empty: it measures the canary)."""
    contract = set(METRIC_CONTRACT.read_text().split())
    relabelled = {
        relabel["targetLabel"]: relabel["replacement"]
        for endpoint in monitor["spec"]["endpoints"]
        for relabel in endpoint.get("relabelings", [])
    }
    copied = {label.replace("-", "_") for label in monitor["spec"].get("podTargetLabels", [])}
    args = {arg["name"] for arg in template["spec"].get("args", [])}
    problems = []
    for metric in template["spec"]["metrics"]:
        name, query = metric["name"], metric["provider"]["prometheus"]["query"]
        unknown = metric_names(query) - contract
        if unknown:
            problems.append(f"{name}: reads metrics no service exposes: {sorted(unknown)}")
        for label, value in re.findall(r'(\w+)="([^"]*)"', query):
            if label in relabelled and value != relabelled[label]:
                problems.append(f"{name}: {label}={value!r}, the ServiceMonitor sets {label}=")
            if value.startswith("{{args.") and label not in copied:
                problems.append(f"{name}: no series carries {label}: podTargetLabels lacks it")
        for arg in re.findall(r"\{\{args\.([\w-]+)\}\}", query):
            if arg not in args:
                problems.append(f"{name}: argument {arg!r} is not declared")
        if "result" not in metric.get("successCondition", ""):
            problems.append(f"{name}: no successCondition on the result")
    return problems


PARTITIONS = {topic.name: topic.partitions for topic in topology.TOPICS}


def scaled_object_problems(scaled: Manifest) -> list[str]:
    """Why a ScaledObject would scale past what its Kafka trigger can use (empty: it cannot)."""
    problems = []
    for trigger in scaled["spec"]["triggers"]:
        if trigger["type"] != "kafka":
            continue
        topic = trigger["metadata"]["topic"]
        partitions = PARTITIONS[topic]
        if scaled["spec"]["maxReplicaCount"] > partitions:
            problems.append(
                f"maxReplicaCount {scaled['spec']['maxReplicaCount']} > {partitions} partitions "
                f"of {topic}: the extra consumers would get no partition"
            )
    return problems


def promtool_errors(queries: list[str], directory: Path) -> str:
    """promtool's complaints about PromQL queries (it parses them as recording rules)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Prometheus) is not on PATH"
    rules = [{"record": f"analysis:query:{n}", "expr": q} for n, q in enumerate(queries)]
    path = directory / "analysis.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "analysis", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


# --- the canary ----------------------------------------------------------------------------------


def test_only_prod_runs_the_canary_and_keda() -> None:
    assert {"Rollout", "AnalysisTemplate", "ScaledObject"} <= kinds("prod")
    assert not {"Rollout", "AnalysisTemplate", "ScaledObject"} & kinds("dev")
    dev_hpa = named("dev", "HorizontalPodAutoscaler", GATEWAY)
    assert dev_hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"


def test_rollout_analysis_and_scaled_object_match_their_crds() -> None:
    for kind in ("Rollout", "AnalysisTemplate", "ScaledObject"):
        documents = [d for d in rendered("prod") if d["kind"] == kind]
        assert documents, kind
        assert k8s.crd_schema(kind, documents[0]["apiVersion"]) is not None
        assert [e for d in documents for e in k8s.validation_errors(d)] == []


def test_gateway_canary_steps_up_with_an_analysis() -> None:
    rollout = named("prod", "Rollout", GATEWAY)["spec"]
    # The Deployment stays the one description of the pod; the Rollout runs it.
    assert rollout["workloadRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": GATEWAY,
        "scaleDown": "progressively",
    }  # fmt: skip
    assert "template" not in rollout
    assert "replicas" not in rollout  # the HPA's
    canary = rollout["strategy"]["canary"]
    weights = [step["setWeight"] for step in canary["steps"] if "setWeight" in step]
    assert weights == sorted(weights)
    assert weights[0] > 0
    assert weights[-1] < 100
    assert any("pause" in step for step in canary["steps"])
    # Every weight is held for a while before the next, so the analysis has data to judge.
    for step, following in zip(canary["steps"], canary["steps"][1:], strict=False):
        if "setWeight" in step:
            assert "pause" in following, step
    analysis = canary["analysis"]
    (template_ref,) = analysis["templates"]
    template = named("prod", "AnalysisTemplate", template_ref["templateName"])
    assert {m["name"] for m in template["spec"]["metrics"]} == {"error-ratio", "p99-latency"}
    assert analysis["args"] == [
        {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}
    ]


def test_analysis_reads_the_canarys_own_http_metrics() -> None:
    template = named("prod", "AnalysisTemplate", f"{GATEWAY}-canary")
    monitor = named("prod", "ServiceMonitor", GATEWAY)
    assert monitor["spec"]["podTargetLabels"] == [HASH_LABEL]
    assert analysis_problems(template, monitor) == []
    queries = {m["name"]: m["provider"]["prometheus"]["query"] for m in template["spec"]["metrics"]}
    assert metric_names(queries["error-ratio"]) == {"http_requests_total"}
    assert 'status=~"5.."' in queries["error-ratio"]
    assert metric_names(queries["p99-latency"]) == {"http_request_duration_seconds_bucket"}
    assert queries["p99-latency"].strip().startswith("histogram_quantile(0.99,")
    for query in queries.values():
        assert f'{HASH_SERIES_LABEL}="{{{{args.canary-hash}}}}"' in query
    # The thresholds are the SLOs' (slo.rules.yml): 0.5 s latency, a 1 % error ceiling.
    conditions = {m["name"]: m["successCondition"] for m in template["spec"]["metrics"]}
    assert conditions["p99-latency"].endswith("result[0] <= 0.5")
    assert conditions["error-ratio"].endswith("result[0] <= 0.01")


def test_analysis_queries_are_valid_promql(tmp_path: Path) -> None:
    template = named("prod", "AnalysisTemplate", f"{GATEWAY}-canary")
    queries = [m["provider"]["prometheus"]["query"] for m in template["spec"]["metrics"]]
    assert promtool_errors(queries, tmp_path) == ""


def test_broken_canaries_are_caught(tmp_path: Path) -> None:
    """Each check above fails on the mistake it is there for."""
    template = named("prod", "AnalysisTemplate", f"{GATEWAY}-canary")
    monitor = named("prod", "ServiceMonitor", GATEWAY)
    provider = template["spec"]["metrics"][0]["provider"]["prometheus"]

    misnamed = copy.deepcopy(template)
    misnamed["spec"]["metrics"][0]["provider"]["prometheus"]["query"] = provider["query"].replace(
        "http_requests_total", "http_request_total"
    )
    assert any("no service exposes" in p for p in analysis_problems(misnamed, monitor))

    wrong_job = copy.deepcopy(template)
    wrong_job["spec"]["metrics"][0]["provider"]["prometheus"]["query"] = provider["query"].replace(
        'job="cloudmart"', 'job="gateway"'
    )
    assert any("ServiceMonitor sets job" in p for p in analysis_problems(wrong_job, monitor))

    unlabelled = copy.deepcopy(monitor)
    del unlabelled["spec"]["podTargetLabels"]
    assert any("podTargetLabels" in p for p in analysis_problems(template, unlabelled))

    assert promtool_errors([provider["query"].replace("[2m]", "[2m")], tmp_path) != ""

    rollout = named("prod", "Rollout", GATEWAY)
    rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setWeigth": 10}
    misspelt = copy.deepcopy(template)
    misspelt["spec"]["metrics"][0]["provider"]["prometheus"]["querry"] = "up"
    for broken in (rollout, misspelt):
        assert k8s.validation_errors(broken), broken["kind"]


def test_gateway_objects_follow_the_pods_to_the_rollout() -> None:
    deployment = named("prod", "Deployment", GATEWAY)
    rollout = named("prod", "Rollout", GATEWAY)
    # Rollout pods are the Deployment's template plus Argo Rollouts' hash label.
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selected_by(rollout["spec"]["selector"]["matchLabels"], pod_labels)
    service = named("prod", "Service", GATEWAY)
    assert selected_by(service["spec"]["selector"], pod_labels)
    pdb = named("prod", "PodDisruptionBudget", GATEWAY)
    assert selected_by(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    policy = named("prod", "NetworkPolicy", GATEWAY)
    assert selected_by(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
    monitor = named("prod", "ServiceMonitor", GATEWAY)
    assert selected_by(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    hpa = named("prod", "HorizontalPodAutoscaler", GATEWAY)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": rollout["apiVersion"], "kind": "Rollout", "name": GATEWAY,
    }  # fmt: skip
    # The Rollout scales the Deployment to zero; nothing may scale it back up.
    assert "replicas" not in deployment["spec"]


# --- KEDA ----------------------------------------------------------------------------------------


def test_notifications_scale_on_the_lag_of_orders() -> None:
    scaled = named("prod", "ScaledObject", NOTIFICATIONS)["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": NOTIFICATIONS,
    }  # fmt: skip
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    # The group the service really consumes with, on the topic of architecture.md §5.
    group = topology.NOTIFICATIONS_GROUP
    assert (metadata["consumerGroup"], metadata["topic"]) == (group.group_id, topology.ORDERS.name)
    assert metadata["consumerGroup"] == "notification-service-group"
    values = yaml.safe_load((k8s.CHART / "values-prod-platform.yaml").read_text())
    assert metadata["bootstrapServers"] == values["kafka"]["bootstrapServers"]
    assert int(metadata["lagThreshold"]) > 0
    # Every trigger value is a string: KEDA's metadata is a map of strings.
    assert all(isinstance(value, str) for value in metadata.values())
    assert scaled["minReplicaCount"] == 1  # architecture.md §7: notifications 1 at rest
    assert scaled["maxReplicaCount"] == topology.ORDERS.partitions == 3
    assert scaled_object_problems(named("prod", "ScaledObject", NOTIFICATIONS)) == []


def test_keda_and_an_hpa_never_both_scale_notifications() -> None:
    def hpa_names(*extra: str) -> set[str]:
        docs = k8s.render(k8s.CHART, "prod", *extra)
        return {d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}

    assert NOTIFICATIONS not in hpa_names()
    # Even with its HPA asked for, KEDA's own HPA is the only one.
    asked = ("--set", "services.notifications.autoscaling.enabled=true",
             "--set", "services.notifications.autoscaling.minReplicas=1",
             "--set", "services.notifications.autoscaling.maxReplicas=3",
             "--set", "services.notifications.autoscaling.cpuUtilization=70")  # fmt: skip
    assert NOTIFICATIONS not in hpa_names(*asked)
    assert "replicas" not in named("prod", "Deployment", NOTIFICATIONS)["spec"]


def test_chart_partitions_are_the_designed_ones() -> None:
    values = yaml.safe_load((k8s.CHART / "values.yaml").read_text())
    assert values["kafka"]["partitions"] == PARTITIONS


def test_too_many_consumers_are_caught() -> None:
    scaled = named("prod", "ScaledObject", NOTIFICATIONS)
    scaled["spec"]["maxReplicaCount"] = topology.ORDERS.partitions + 1
    assert scaled_object_problems(scaled)
    # The chart itself refuses to render one.
    result = k8s.helm(
        "template", "cloudmart", k8s.CHART, *k8s.value_args(k8s.CHART, "prod"),
        "--set", f"services.notifications.keda.maxReplicaCount={topology.ORDERS.partitions + 1}",
    )  # fmt: skip
    assert result.returncode != 0
    assert "exceeds the 3 partitions" in result.stderr
    # And the CRD's schema catches a misspelt field.
    misspelt = named("prod", "ScaledObject", NOTIFICATIONS)
    misspelt["spec"]["maxReplicas"] = misspelt["spec"].pop("maxReplicaCount")
    assert k8s.validation_errors(misspelt)


# --- the controllers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "variable"), [("argo-rollouts", "ARGO_ROLLOUTS_VERSION"), ("keda", "KEDA_VERSION")]
)
def test_controllers_run_the_version_whose_crds_we_validate(app: str, variable: str) -> None:
    (version,) = re.findall(rf"^{variable}=(\S+)$", INSTALL_SH.read_text(), re.MULTILINE)
    path = ARGOCD_APPS / f"{app}.yaml"
    (application,) = k8s.load_manifests([path])
    revision = application["spec"]["source"]["targetRevision"]
    if app == "keda":
        # KEDA's chart versions are KEDA's versions.
        assert f"v{revision}" == version
    else:
        # Argo Rollouts' chart has its own numbering: the file names the controller it runs.
        assert f"controller {version}" in path.read_text()
    platform = k8s.load_manifests([ARGOCD_APPS / "platform.yaml"])[0]
    wave = "argocd.argoproj.io/sync-wave"
    assert int(application["metadata"]["annotations"][wave]) < int(
        platform["metadata"]["annotations"][wave]
    )


def test_argocd_leaves_the_scaled_replica_counts_alone() -> None:
    platform: dict[str, Any] = k8s.load_manifests([ARGOCD_APPS / "platform.yaml"])[0]
    ignored = {
        (entry["kind"], entry["name"])
        for entry in platform["spec"]["ignoreDifferences"]
        if entry["jsonPointers"] == ["/spec/replicas"]
    }
    assert {("Rollout", GATEWAY), ("Deployment", NOTIFICATIONS)} <= ignored
