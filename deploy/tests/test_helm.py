"""deploy/helm: lint, render, validate every manifest, checkov, and architecture.md §7's numbers."""

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudmart_common import topic_admin, topology
from deploy.tests import k8s
from deploy.tests.k8s import Manifest
from deploy.tests.tools import ROOT, checkov

ENVIRONMENTS = ("dev", "prod")
SERVICES = ("gateway", "users", "products", "orders", "notifications", "payments", "dashboard")
OBSERVABILITY = ROOT / "deploy" / "observability"

# The architecture's HTTP edges (deploy brief / architecture.md §1): callee -> callers.
EXPECTED_CALLERS = {
    "gateway": set[str](),
    "users": {"gateway", "products", "orders", "notifications", "payments", "dashboard"},
    "products": {"gateway", "orders"},
    "orders": {"gateway"},
    "notifications": {"gateway"},
    "payments": {"gateway", "orders"},
    "dashboard": {"gateway"},
}


@cache
def rendered(environment: str) -> tuple[Manifest, ...]:
    return tuple(k8s.render(k8s.CHART, environment))


@cache
def rendered_on_eks(environment: str) -> tuple[Manifest, ...]:
    """With the Flink job on EKS (the operator) instead of Dataproc (ADR 0035)."""
    return tuple(k8s.render(k8s.CHART, environment, "--set", "analytics.runOn=eks"))


def on_eks(kind: str) -> dict[str, Manifest]:
    return of_kind(rendered_on_eks("prod"), kind)


@cache
def rendered_monitoring() -> tuple[Manifest, ...]:
    return tuple(k8s.render(k8s.MONITORING_CHART, None, namespace="monitoring"))


def of_kind(docs: tuple[Manifest, ...], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def prod(kind: str) -> dict[str, Manifest]:
    return of_kind(rendered("prod"), kind)


def container(deployment: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


# --- lint, schemas, checkov ---------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_lint_strict(environment: str) -> None:
    result = k8s.helm(
        "lint", "--strict", k8s.CHART, "--kube-version", f"{k8s.KUBE_VERSION}.0",
        "--namespace", k8s.NAMESPACE, *k8s.value_args(k8s.CHART, environment),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_monitoring_chart() -> None:
    result = k8s.helm("lint", "--strict", k8s.MONITORING_CHART)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_manifest_matches_its_schema(environment: str) -> None:
    docs = rendered(environment) + rendered_on_eks(environment)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "FlinkDeployment", "ServiceMonitor", "NetworkPolicy", "Job"} <= kinds
    errors = [error for doc in docs for error in k8s.validation_errors(doc)]
    assert errors == []


def test_monitoring_manifests_match_their_schemas() -> None:
    errors = [error for doc in rendered_monitoring() for error in k8s.validation_errors(doc)]
    assert errors == []


def test_validation_can_fail() -> None:
    """Each validator path rejects a broken manifest: a pass above means something."""
    docs = prod("Deployment")
    deployment = json.loads(json.dumps(docs["cloudmart-gateway"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    flink = json.loads(json.dumps(on_eks("FlinkDeployment")["cloudmart-analytics"]))
    flink["spec"]["job"]["upgradeMode"] = "sometimes"
    monitor = json.loads(json.dumps(prod("ServiceMonitor")["cloudmart-orders"]))
    monitor["spec"]["endpoints"][0]["relabeling"] = []
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    old_core = {"apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": {"name": "i"}}
    for broken in (deployment, flink, monitor, unknown, old_core):
        assert k8s.validation_errors(broken), broken["kind"]


def test_checkov_finds_nothing_unjustified(tmp_path: Path) -> None:
    for environment in ENVIRONMENTS:
        directory = tmp_path / environment
        directory.mkdir()
        k8s.write_manifests(list(rendered(environment)), directory)
    k8s.write_manifests(list(rendered_monitoring()), tmp_path)
    eks = tmp_path / "prod-flink-on-eks"
    eks.mkdir()
    k8s.write_manifests(list(rendered_on_eks("prod")), eks)
    result = checkov("--framework", "kubernetes", "-d", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    # Every skip carries a reason after the check id.
    for doc in rendered("prod"):
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert check.startswith("CKV_"), value
                assert len(reason) > 20, value


# --- architecture.md §7 ---------------------------------------------------------------------------


def test_hpa_gateway_and_orders_as_designed() -> None:
    hpas = prod("HorizontalPodAutoscaler")
    assert set(hpas) == {"cloudmart-gateway", "cloudmart-orders"}
    gateway = hpas["cloudmart-gateway"]["spec"]
    assert (gateway["minReplicas"], gateway["maxReplicas"]) == (2, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in gateway["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 70},
        "memory": {"type": "Utilization", "averageUtilization": 80},
    }
    assert gateway["behavior"]["scaleUp"]["policies"] == [
        {"type": "Percent", "value": 100, "periodSeconds": 30}
    ]
    assert gateway["behavior"]["scaleDown"]["policies"] == [
        {"type": "Percent", "value": 50, "periodSeconds": 300}
    ]
    orders = hpas["cloudmart-orders"]["spec"]
    assert (orders["minReplicas"], orders["maxReplicas"]) == (2, 8)
    assert [m["resource"] for m in orders["metrics"]] == [
        {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}
    ]
    # Prod runs the gateway as an Argo Rollouts canary: its HPA scales the Rollout.
    assert hpas["cloudmart-gateway"]["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "cloudmart-gateway",
    }  # fmt: skip
    assert hpas["cloudmart-orders"]["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "cloudmart-orders",
    }  # fmt: skip


def test_resources_and_replicas_as_designed() -> None:
    deployments = prod("Deployment")
    assert set(deployments) == {f"cloudmart-{s}" for s in SERVICES} | {"cloudmart-pgbouncer"}
    for service in SERVICES:
        deployment = deployments[f"cloudmart-{service}"]
        resources = container(deployment)["resources"]
        if service == "orders":
            assert resources == {
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"cpu": "1000m", "memory": "1Gi"},
            }
        else:
            assert resources == {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi"},
            }
        # None: an HPA (gateway, orders) or KEDA (notifications, 1 to 3) owns the count.
        expected = {"gateway": None, "orders": None, "notifications": None}.get(service, 2)
        assert deployment["spec"].get("replicas") == expected, service


def test_services_port_80_to_http_and_probes() -> None:
    services = prod("Service")
    for service in SERVICES:
        spec = services[f"cloudmart-{service}"]["spec"]
        assert spec["type"] == "ClusterIP"
        assert spec["ports"] == [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        ]
        main = container(prod("Deployment")[f"cloudmart-{service}"])
        assert main["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert main["startupProbe"]["httpGet"]["path"] == "/health"
        assert main["image"] == (
            f"123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudmart/{service}:0.1.0"
        )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_takes_redis_url_from_the_terraform_secret(environment: str) -> None:
    deployments = of_kind(rendered(environment), "Deployment")
    for service in SERVICES:
        env = container(deployments[f"cloudmart-{service}"])["env"]
        assert env[0] == {
            "name": "REDIS_URL",
            "valueFrom": {"secretKeyRef": {"name": "cloudmart-redis", "key": "url"}},
        }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_pod_is_locked_down(environment: str) -> None:
    docs = rendered(environment)
    pods = [d for d in docs if d["kind"] in ("Deployment", "Job")]
    assert len(pods) == len(SERVICES) + 3 + 1 + 1  # the migrations, the topic Job, pgbouncer
    for doc in pods:
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        for c in pod["containers"]:
            context = c["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
            assert "value" not in json.dumps(c.get("env", [])).replace("valueFrom", ""), c["name"]


def test_topology_spread_and_service_accounts() -> None:
    accounts = prod("ServiceAccount")
    for service in SERVICES:
        pod = prod("Deployment")[f"cloudmart-{service}"]["spec"]["template"]["spec"]
        keys = [c["topologyKey"] for c in pod["topologySpreadConstraints"]]
        assert keys == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        assert pod["serviceAccountName"] == f"cloudmart-{service}"
        annotations = accounts[f"cloudmart-{service}"]["metadata"].get("annotations", {})
        assert ("eks.amazonaws.com/role-arn" in annotations) == (service == "products")


def test_pdbs_for_services_with_two_pods() -> None:
    pdbs = prod("PodDisruptionBudget")
    assert set(pdbs) == {f"cloudmart-{s}" for s in SERVICES if s != "notifications"} | {
        "cloudmart-pgbouncer"
    }
    assert all(
        p["spec"] == {"minAvailable": 1, "selector": p["spec"]["selector"]} for p in pdbs.values()
    )
    # Dev runs single pods: a PDB of minAvailable 1 there would block every node drain.
    assert set(of_kind(rendered("dev"), "PodDisruptionBudget")) == set()


def test_configmaps_use_cluster_dns_names() -> None:
    maps = prod("ConfigMap")
    base = "http://cloudmart-{}.cloudmart.svc.cluster.local"
    gateway = maps["cloudmart-gateway"]["data"]
    for service in SERVICES[1:]:
        assert json.loads(gateway[f"{service.upper()}_URLS"]) == [base.format(service)]
    orders = maps["cloudmart-orders"]["data"]
    assert orders["PAYMENTS_URL"] == base.format("payments")
    for service in SERVICES:
        data = maps[f"cloudmart-{service}"]["data"]
        assert data["LOG_FORMAT"] == "json"
        assert data["ENVIRONMENT"] == "prod"
        assert data["TRACING_ENABLED"] == "true"
        assert data["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://")
        # REDIS_URL carries the AUTH token: from the Secret Terraform fills, never a ConfigMap.
        assert "REDIS_URL" not in data
        assert data["KAFKA_BOOTSTRAP_SERVERS"].count(":9094") == 3
        assert data["KAFKA_SECURITY_PROTOCOL"] == "SSL"  # MSK's TLS listener
        assert data["JWKS_URL"] == base.format("users") + "/api/users/.well-known/jwks.json"
        assert not {k for k in data if "SECRET" in k or "PASSWORD" in k or k == "DATABASE_URL"}


# --- NetworkPolicies -----------------------------------------------------------------------------


def selected_names(selector: dict[str, Any]) -> set[str]:
    """Service names a podSelector picks (the chart's selectors are name In [...])."""
    names = set[str]()
    for expression in selector.get("matchExpressions", []):
        if expression["key"] == "app.kubernetes.io/name":
            assert expression["operator"] == "In"
            names |= set(expression["values"])
    if "app.kubernetes.io/name" in selector.get("matchLabels", {}):
        names.add(selector["matchLabels"]["app.kubernetes.io/name"])
    return names


def peers(
    rules: list[dict[str, Any]], side: str
) -> tuple[set[str], set[str], set[tuple[str, int | str]]]:
    """Pods (by service name), namespaces and (cidr, port) pairs that rules allow."""
    pods, namespaces, blocks = set[str](), set[str](), set[tuple[str, int | str]]()
    for rule in rules:
        ports = [p["port"] for p in rule.get("ports", [])]
        for peer in rule[side]:
            if "namespaceSelector" in peer:
                namespaces.add(
                    peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                )
            elif "podSelector" in peer:
                pods |= selected_names(peer["podSelector"])
            if "ipBlock" in peer:
                blocks |= {(peer["ipBlock"]["cidr"], port) for port in ports}
    return pods, namespaces, blocks


def test_default_deny_and_exact_ingress_edges() -> None:
    policies = prod("NetworkPolicy")
    deny = policies["cloudmart-default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for service, callers in EXPECTED_CALLERS.items():
        spec = policies[f"cloudmart-{service}"]["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert selected_names(spec["podSelector"]) == {service}
        pods, namespaces, blocks = peers(spec["ingress"], "from")
        assert pods == callers, service
        expected_namespaces = {"monitoring"} | (
            {"ingress-nginx"} if service == "gateway" else set()
        )
        assert namespaces == expected_namespaces, service
        assert blocks == set(), service


def test_exact_egress() -> None:
    policies = prod("NetworkPolicy")
    for service in SERVICES:
        spec = policies[f"cloudmart-{service}"]["spec"]
        pods, namespaces, blocks = peers(spec["egress"], "to")
        callees = {s for s, callers in EXPECTED_CALLERS.items() if service in callers}
        if service in ("users", "orders", "payments"):
            callees.add("pgbouncer")  # PostgreSQL through pgbouncer, never RDS directly
        assert pods == callees, service
        assert namespaces == {"kube-system", "observability"}, service
        expected = {("10.0.0.0/16", 6379)}
        if service != "gateway":
            expected |= {("10.0.0.0/16", 9094)}  # TLS only
        if service in ("products", "payments", "notifications"):
            expected.add(("0.0.0.0/0", 443))
        if service == "notifications":
            expected.add(("0.0.0.0/0", 587))
        assert blocks == expected, service


def test_alb_variant_lets_the_vpc_reach_the_gateway_only() -> None:
    docs = tuple(k8s.render(k8s.CHART, "prod", "--set", "ingress.className=alb"))
    assert [e for d in docs for e in k8s.validation_errors(d)] == []
    ingress = of_kind(docs, "Ingress")["cloudmart"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"] == "ip"
    policies = of_kind(docs, "NetworkPolicy")
    _, namespaces, blocks = peers(policies["cloudmart-gateway"]["spec"]["ingress"], "from")
    assert namespaces == {"monitoring"}
    assert blocks == {("10.0.0.0/16", "http")}


# --- Ingress, migrations, Flink, monitoring ------------------------------------------------------


def test_ingress_routes_everything_to_the_gateway_over_tls() -> None:
    ingress = prod("Ingress")["cloudmart"]
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["shop.cloudmart.example"], "secretName": "cloudmart-tls"}]
    paths = spec["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths] == ["/api", "/"]
    assert {json.dumps(p["backend"], sort_keys=True) for p in paths} == {
        json.dumps(
            {"service": {"name": "cloudmart-gateway", "port": {"name": "http"}}}, sort_keys=True
        )
    }
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"


def test_migration_jobs_are_pre_install_and_pre_upgrade_hooks() -> None:
    jobs = prod("Job")
    assert set(jobs) == {f"cloudmart-migrate-{db}" for db in ("users", "orders", "payments")} | {
        "cloudmart-kafka-topics"
    }
    for db in ("users", "orders", "payments"):
        job = jobs[f"cloudmart-migrate-{db}"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert job["spec"]["backoffLimit"] == 2
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        main = job["spec"]["template"]["spec"]["containers"][0]
        assert main["command"] == ["alembic", "-c", f"services/{db}/alembic.ini", "upgrade", "head"]
        assert main["image"].endswith(f"/cloudmart/{db}:0.1.0")
        # RDS itself: on a first install pgbouncer does not run yet when the hooks do.
        assert main["env"] == [{
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"cloudmart-{db}-db", "key": "direct-url"}},
        }]  # fmt: skip
    # Hook helpers the Jobs need on a first install come first.
    for kind in ("ServiceAccount", "NetworkPolicy"):
        helper = prod(kind)["cloudmart-migrations"]["metadata"]["annotations"]
        assert int(helper["helm.sh/hook-weight"]) < 0


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_topic_job_applies_the_one_topology_before_every_rollout(environment: str) -> None:
    docs = rendered(environment)
    job = of_kind(docs, "Job")["cloudmart-kafka-topics"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    main = job["spec"]["template"]["spec"]["containers"][0]
    # The project's own command, with no topic of its own: what it creates is the topology.
    assert main["command"] == ["python", "-m", "cloudmart_common.topic_admin"]
    assert main["envFrom"] == [{"configMapRef": {"name": "cloudmart-kafka-topics"}}]
    # The brokers and the protocol exactly as the services get them.
    config = of_kind(docs, "ConfigMap")["cloudmart-kafka-topics"]
    service = of_kind(docs, "ConfigMap")["cloudmart-notifications"]["data"]
    for key in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "ENVIRONMENT"):
        assert config["data"][key] == service[key], key
    assert config["data"]["KAFKA_SECURITY_PROTOCOL"] == "SSL"
    assert main["image"].split("/")[-1].startswith("notifications:")
    policy = of_kind(docs, "NetworkPolicy")["cloudmart-kafka-topics"]["spec"]
    _, _, blocks = peers(policy["egress"], "to")
    assert {port for _, port in blocks} == {9094}
    for kind in ("ServiceAccount", "NetworkPolicy", "ConfigMap"):
        helper = of_kind(docs, kind)["cloudmart-kafka-topics"]["metadata"]["annotations"]
        assert int(helper["helm.sh/hook-weight"]) < int(
            job["metadata"]["annotations"]["helm.sh/hook-weight"]
        )


def test_what_the_topic_job_asks_for_is_the_topology() -> None:
    # The command the Job runs, asked what it would do: every topic of the topology with its
    # cloud replication, retention and compression; the chart's partition counts agree.
    asked = {topic["name"]: topic for topic in topic_admin.plan()}
    assert set(asked) == {topic.name for topic in topology.TOPICS}
    for topic in topology.TOPICS:
        assert asked[topic.name]["partitions"] == topic.partitions
        assert asked[topic.name]["replication"] == topic.replication == 2
        assert asked[topic.name]["configs"] == topic.configs()
    assert asked["orders"]["configs"]["compression.type"] == "snappy"
    assert asked["analytics-results"]["configs"]["compression.type"] == "gzip"
    assert asked["orders"]["configs"]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert asked["analytics-results"]["configs"]["retention.ms"] == str(30 * 24 * 3600 * 1000)
    values = yaml.safe_load((k8s.CHART / "values.yaml").read_text())
    assert values["kafka"]["partitions"] == {t.name: t.partitions for t in topology.TOPICS}


def test_pgbouncer_between_the_services_and_rds_as_locally() -> None:
    config = prod("ConfigMap")["cloudmart-pgbouncer"]["data"]["pgbouncer.ini"]
    settings = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in config.splitlines())
        if value and not key.startswith((";", "["))
    )
    assert settings["pool_mode"] == "session"
    assert settings["default_pool_size"] == settings["max_db_connections"] == "20"
    assert settings["server_connect_timeout"] == settings["query_wait_timeout"] == "30"
    host = yaml.safe_load((k8s.CHART / "values-prod-platform.yaml").read_text())["postgres"]["host"]
    for db in ("users", "orders", "payments"):
        assert settings[db] == f"host={host} port=5432 dbname={db}"
    # The same numbers as the local stack's pgbouncer.
    local = (ROOT / "local" / "conf" / "pgbouncer.ini").read_text()
    for key in ("pool_mode", "default_pool_size", "max_db_connections", "query_wait_timeout"):
        assert f"{key} = {settings[key]}" in local, key
    policy = prod("NetworkPolicy")["cloudmart-pgbouncer"]["spec"]
    callers, _, _ = peers(policy["ingress"], "from")
    assert callers == {"users", "orders", "payments"}
    _, _, blocks = peers(policy["egress"], "to")
    assert blocks == {("10.0.0.0/16", 5432)}
    assert prod("Service")["cloudmart-pgbouncer"]["spec"]["ports"][0]["port"] == 5432


def test_the_flink_job_runs_on_dataproc_unless_eks_is_chosen() -> None:
    # One value decides; on Dataproc nothing of the job is in the cluster.
    assert yaml.safe_load((k8s.CHART / "values.yaml").read_text())["analytics"]["runOn"] == (
        "dataproc"
    )
    for kind in ("FlinkDeployment", "PodMonitor"):
        assert prod(kind) == {}
    assert "cloudmart-analytics" not in prod("ServiceAccount")
    assert set(on_eks("FlinkDeployment")) == {"cloudmart-analytics"}


def test_flink_deployment() -> None:
    flink = on_eks("FlinkDeployment")["cloudmart-analytics"]["spec"]
    pom = (ROOT / "analytics" / "pom.xml").read_text()
    assert "<flink.version>2.2." in pom
    assert flink["flinkVersion"] == "v2_2"
    assert (
        flink["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/cloudmart/analytics:0.1.0"
    )
    job = flink["job"]
    assert job["jarURI"] == "local:///opt/flink/usrlib/order-analytics.jar"
    assert job["entryClass"] == "dev.cloudmart.analytics.OrderAnalyticsJob"
    assert job["upgradeMode"] == "last-state"
    assert job["parallelism"] == 4
    args = dict(zip(job["args"][::2], job["args"][1::2], strict=True))
    assert args["--checkpoint-dir"].startswith("gs://")
    assert args["--lake-dir"].startswith("gs://")
    assert args["--web-ui-port"] == "0"
    assert args["--parallelism"] == "4"
    assert args["--security-protocol"] == "SSL"  # MSK's TLS listener
    config = flink["flinkConfiguration"]
    assert config["execution.checkpointing.interval"] == "60000"
    assert config["state.checkpoints.dir"] == args["--checkpoint-dir"]
    assert config["metrics.reporter.prom.port"] == "9249"
    assert config["metrics.reporter.prom.factory.class"].endswith("PrometheusReporterFactory")
    assert flink["serviceAccount"] == "cloudmart-analytics"


def test_service_monitors_label_job_and_service() -> None:
    monitors = prod("ServiceMonitor")
    assert set(monitors) == {f"cloudmart-{s}" for s in SERVICES}
    for service in SERVICES:
        (endpoint,) = monitors[f"cloudmart-{service}"]["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
        relabel = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
        assert relabel == {"job": "cloudmart", "service": service}
    (flink,) = on_eks("PodMonitor")["cloudmart-analytics"]["spec"]["podMetricsEndpoints"]
    assert {r["targetLabel"]: r["replacement"] for r in flink["relabelings"]} == {
        "job": "analytics"
    }
    off = k8s.render(k8s.CHART, "prod", "--set", "monitoring.enabled=false")
    assert not {d["kind"] for d in off} & {"ServiceMonitor", "PodMonitor"}


def test_monitoring_chart_carries_every_rule_and_dashboard() -> None:
    docs = rendered_monitoring()
    rules = of_kind(docs, "PrometheusRule")
    files = sorted((OBSERVABILITY / "rules").glob("*.yml"))
    assert len(rules) == len(files) > 0
    for path in files:
        name = "cloudmart-" + path.name.removesuffix(".yml").removesuffix(".rules")
        assert rules[name]["spec"] == yaml.safe_load(path.read_text()), path.name
        assert rules[name]["metadata"]["labels"]["release"] == "cloudmart-monitoring"
    dashboards = of_kind(docs, "ConfigMap")
    files = sorted((OBSERVABILITY / "dashboards").glob("*.json"))
    assert len(dashboards) == len(files) > 0
    for path in files:
        config_map = dashboards[f"cloudmart-dashboard-{path.stem}"]
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(config_map["data"][path.name]) == json.loads(path.read_text())
