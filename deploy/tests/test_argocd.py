"""deploy/argocd: schemas, sync policy, pinned charts, every path and values file present."""

import re
from pathlib import Path

from deploy.tests import k8s
from deploy.tests.k8s import Manifest
from deploy.tests.tools import ROOT

ARGOCD = ROOT / "deploy" / "argocd"
# A placeholder until the repository has its real home (see deploy/argocd/root.yaml).
REPO_URL = "https://github.com/cloudmart/cloudmart.git"
FILES = sorted(ARGOCD.rglob("*.yaml"))


def manifests() -> list[Manifest]:
    return k8s.load_manifests(FILES)


def applications() -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == "Application"}


def test_every_manifest_matches_its_schema() -> None:
    docs = manifests()
    assert {d["kind"] for d in docs} == {"Application", "AppProject"}
    assert [error for doc in docs for error in k8s.validation_errors(doc)] == []


def test_schemas_reject_misspelt_fields() -> None:
    platform = applications()["cloudmart-platform"]
    broken = {**platform, "spec": {**platform["spec"], "destinaton": {}}}
    assert k8s.validation_errors(broken)
    unsynced = {
        **platform,
        "spec": {**platform["spec"], "syncPolicy": {"automated": {"prun": True}}},
    }
    assert k8s.validation_errors(unsynced)


def test_root_syncs_the_apps_directory() -> None:
    root = applications()["cloudmart-root"]
    assert root["spec"]["source"]["path"] == "deploy/argocd/apps"
    assert (ROOT / root["spec"]["source"]["path"]).is_dir()
    assert root in k8s.load_manifests([ARGOCD / "root.yaml"])


def test_platform_syncs_automatically_with_prune_and_self_heal() -> None:
    spec = applications()["cloudmart-platform"]["spec"]
    assert spec["source"]["path"] == "deploy/helm/cloudmart"
    assert spec["source"]["helm"]["valueFiles"] == [
        "values.yaml",
        "values-prod.yaml",
        "values-prod-platform.yaml",  # Terraform's (test_wiring.py)
    ]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in spec["syncPolicy"]["syncOptions"]
    assert spec["syncPolicy"]["retry"]["limit"] > 0
    assert spec["destination"]["namespace"] == k8s.NAMESPACE


def test_every_application_syncs_itself_and_belongs_to_the_project() -> None:
    for name, app in applications().items():
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, name
        if name != "cloudmart-root":
            assert app["spec"]["project"] == "cloudmart", name


def test_paths_and_value_files_exist() -> None:
    for name, app in applications().items():
        source = app["spec"]["source"]
        if "chart" in source:
            continue
        assert source["repoURL"] == REPO_URL, name
        directory: Path = ROOT / source["path"]
        assert directory.is_dir(), name
        for values in source.get("helm", {}).get("valueFiles", []):
            assert (directory / values).is_file(), f"{name}: {values}"


def test_external_charts_are_pinned_and_allowed() -> None:
    project = next(d for d in manifests() if d["kind"] == "AppProject")["spec"]
    charts = {
        n: a["spec"]["source"] for n, a in applications().items() if "chart" in a["spec"]["source"]
    }
    assert charts["kube-prometheus-stack"]["repoURL"] == (
        "https://prometheus-community.github.io/helm-charts"
    )
    for name, source in charts.items():
        version = source["targetRevision"]
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version), f"{name}: {version}"
        assert source["repoURL"] in project["sourceRepos"], name
    assert REPO_URL in project["sourceRepos"]
    namespaces = {d["namespace"] for d in project["destinations"]}
    for name, app in applications().items():
        if name != "cloudmart-root":
            assert app["spec"]["destination"]["namespace"] in namespaces, name


def test_monitoring_stack_picks_up_our_rules_dashboards_and_monitors() -> None:
    values = applications()["kube-prometheus-stack"]["spec"]["source"]["helm"]["valuesObject"]
    prometheus = values["prometheus"]["prometheusSpec"]
    assert prometheus["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert prometheus["podMonitorSelectorNilUsesHelmValues"] is False
    (selector,) = prometheus["ruleSelector"]["matchExpressions"]
    rules = [
        d
        for d in k8s.render(k8s.MONITORING_CHART, None, namespace="monitoring")
        if d["kind"] == "PrometheusRule"
    ]
    assert rules
    for rule in rules:
        assert rule["metadata"]["labels"][selector["key"]] in selector["values"]
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True
    assert sidecar["searchNamespace"] == "ALL"
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    monitoring_app = applications()["cloudmart-monitoring"]["spec"]
    assert monitoring_app["source"]["path"] == "deploy/helm/cloudmart-monitoring"


def test_repository_url_is_written_the_same_everywhere() -> None:
    for path in FILES:
        for line in path.read_text().splitlines():
            if "github.com" in line:
                assert REPO_URL in line, f"{path}: {line}"
