"""Logs in the cluster: the cloudmart-logging chart (Fluent Bit on every node, the OpenSearch index
template and retention), the OpenSearch apps of Argo CD, and how they fit the Fluent Bit pipeline
that deploy/observability/tests checks line by line."""

import json
from functools import cache
from pathlib import Path

import yaml

from deploy.tests import k8s
from deploy.tests.k8s import Manifest
from deploy.tests.tools import ROOT, checkov

CHART = ROOT / "deploy" / "helm" / "cloudmart-logging"
OPENSEARCH = ROOT / "deploy" / "observability" / "opensearch"
PIPELINE = ROOT / "deploy" / "observability" / "fluent-bit" / "fluent-bit.yaml"
APPS = ROOT / "deploy" / "argocd" / "apps" / "logging.yaml"


@cache
def rendered() -> tuple[Manifest, ...]:
    return tuple(k8s.render(CHART, None, namespace="logging"))


def of_kind(kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in rendered() if d["kind"] == kind}


def test_lint_schemas_and_checkov(tmp_path: Path) -> None:
    result = k8s.helm("lint", "--strict", CHART)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [e for doc in rendered() for e in k8s.validation_errors(doc)] == []
    k8s.write_manifests(list(rendered()), tmp_path)
    scan = checkov("--framework", "kubernetes", "-d", str(tmp_path))
    assert scan.returncode == 0, scan.stdout + scan.stderr


def test_fluent_bit_runs_on_every_node_with_the_tested_pipeline() -> None:
    daemonset = of_kind("DaemonSet")["cloudmart-fluent-bit"]
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"operator": "Exists"}]
    container = pod["containers"][0]
    assert container["image"].split(":")[-1][0].isdigit()  # a released version, not latest
    assert container["args"] == ["--config=/fluent-bit/etc/cloudmart/fluent-bit.yaml"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["varlog"] == {"name": "varlog", "mountPath": "/var/log", "readOnly": True}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The ConfigMap is the pipeline file as committed (and tested).
    config = of_kind("ConfigMap")["cloudmart-fluent-bit"]["data"]["fluent-bit.yaml"]
    assert yaml.safe_load(config) == yaml.safe_load(PIPELINE.read_text())
    # The credentials of the log writer come from a Secret; every variable the output uses is set.
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["OPENSEARCH_PASSWORD"]["valueFrom"]
    output = yaml.safe_load(PIPELINE.read_text())["pipeline"]["outputs"][0]
    used = {v[2:-1] for v in output.values() if isinstance(v, str) and v.startswith("${")}
    assert used <= set(env)
    # The kubernetes filter may read pods and namespaces, nothing more.
    role = of_kind("ClusterRole")["cloudmart-fluent-bit"]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}
    ]


def test_the_index_template_and_retention_fit_the_indices_fluent_bit_writes() -> None:
    output = yaml.safe_load(PIPELINE.read_text())["pipeline"]["outputs"][0]
    indices = f"{output['logstash_prefix']}-*"
    template = json.loads((OPENSEARCH / "index-template.json").read_text())
    policy = json.loads((OPENSEARCH / "ism-policy.json").read_text())["policy"]
    assert template["index_patterns"] == [indices]
    assert policy["ism_template"][0]["index_patterns"] == [indices]
    settings = template["template"]["settings"]
    assert settings["plugins.index_state_management.policy_id"] == "cloudmart-logs"
    # The services' JSON fields (cloudmart_common.log) are keywords to filter on.
    fields = template["template"]["mappings"]["properties"]
    for field in ("level", "service", "request_id", "trace_id", "user_id"):
        assert fields[field]["type"] == "keyword", field
    states = {state["name"]: state for state in policy["states"]}
    [transition] = states[policy["default_state"]]["transitions"]
    assert transition == {"state_name": "delete", "conditions": {"min_index_age": "14d"}}
    assert states["delete"]["actions"] == [{"delete": {}}]
    # The Job puts both files as committed, the policy first (the template names it).
    setup = of_kind("ConfigMap")["cloudmart-opensearch-setup"]["data"]
    assert json.loads(setup["index-template.json"]) == template
    assert json.loads(setup["ism-policy.json"])["policy"] == policy
    job = of_kind("Job")["cloudmart-opensearch-setup"]
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert script.index("_ism/policies/cloudmart-logs") < script.index("_index_template/")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"


def test_opensearch_and_its_dashboards_are_pinned_argo_cd_apps_in_logging() -> None:
    apps = {d["metadata"]["name"]: d for d in k8s.load_manifests([APPS])}
    assert set(apps) == {"opensearch", "opensearch-dashboards", "cloudmart-logging"}
    for name in ("opensearch", "opensearch-dashboards"):
        source = apps[name]["spec"]["source"]
        assert source["repoURL"] == "https://opensearch-project.github.io/helm-charts"
        assert source["chart"] == name
        assert source["targetRevision"][0].isdigit()
    assert apps["cloudmart-logging"]["spec"]["source"]["path"] == "deploy/helm/cloudmart-logging"
    for app in apps.values():
        assert app["spec"]["destination"]["namespace"] == "logging"
    values = apps["opensearch"]["spec"]["source"]["helm"]["valuesObject"]
    host = yaml.safe_load((CHART / "values.yaml").read_text())["opensearch"]["host"]
    assert host == f"{values['clusterName']}-master"  # the chart's master Service
    dashboards = apps["opensearch-dashboards"]["spec"]["source"]["helm"]["valuesObject"]
    assert dashboards["opensearchHosts"] == f"https://{host}:9200"
