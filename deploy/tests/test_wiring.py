"""Terraform and the chart fit together: every name one side references exists on the other.

Terraform's `helm_values` output (platform/helm_values.tf) becomes values-<env>-platform.yaml, so
no name is typed twice; this test holds the two sides to each other without running Terraform.
It resolves the names Terraform will give (tables, buckets, the products role and the service
account it trusts, the Redis URL secret, the Dataproc cluster) from the parsed HCL, the
environment's tfvars and the variables' defaults, renders the chart for the environment, and
compares: what the chart uses must be what Terraform makes, and the ports and the Kafka protocol
the chart opens must be the ones Terraform's security groups and MSK allow.
"""

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from deploy.tests import k8s
from deploy.tests.test_terraform import ENVS, MODULES, PLATFORM, PRODUCTS_SCHEMAS, Hcl, parse_dir
from deploy.tests.test_terraform import tfvars as read_tfvars
from deploy.tests.tools import ROOT

_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def resolve(template: str, scope: dict[str, str]) -> str | None:
    """A Terraform string template with only var./local./each. references; None if it has
    another (a value known after apply)."""
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        found = scope.get(match.group(1).strip())
        if found is None:
            unresolved = True
            return ""
        return found

    result = _REFERENCE.sub(value, template)
    return None if unresolved else result


@dataclass
class Terraform:
    """The platform's names as Terraform makes them in one environment."""

    environment: str
    platform: Hcl = field(default_factory=lambda: parse_dir(PLATFORM))
    modules: dict[str, Hcl] = field(default_factory=dict)

    def module(self, name: str) -> Hcl:
        if name not in self.modules:
            self.modules[name] = parse_dir(MODULES / name)
        return self.modules[name]

    def root_scope(self) -> dict[str, str]:
        scope = {
            f"var.{name}": str(body["default"])
            for name, body in self.platform["variable"].items()
            if isinstance(body.get("default"), str | int)
        }
        scope |= {f"var.{k}": str(v) for k, v in read_tfvars(self.environment).items()}
        for block in self.platform["locals"]:
            for name, value in block.items():
                if isinstance(value, str) and (resolved := resolve(value, scope)) is not None:
                    scope[f"local.{name}"] = resolved
        return scope

    def module_scope(self, name: str) -> dict[str, str]:
        root = self.root_scope()
        scope = {
            f"var.{variable}": str(body["default"])
            for variable, body in self.module(name)["variable"].items()
            if isinstance(body.get("default"), str | int)
        }
        for variable, value in self.platform["module"][name].items():
            if isinstance(value, str) and (resolved := resolve(value, root)) is not None:
                scope[f"var.{variable}"] = resolved
        return scope

    def _name(self, module: str, template: str, **each: str) -> str:
        scope = self.module_scope(module) | {f"each.{k}": v for k, v in each.items()}
        resolved = resolve(template, scope)
        assert resolved is not None, f"{module}: {template} does not resolve"
        return resolved

    def tables(self) -> set[str]:
        template = self.module("dynamodb")["resource"]["aws_dynamodb_table"]["this"]["name"]
        keys = [
            json.loads(path.read_text())["TableName"]
            for path in sorted(PRODUCTS_SCHEMAS.glob("*table_schema.json"))
        ]
        return {self._name("dynamodb", template, key=key) for key in keys}

    def buckets(self) -> dict[str, str]:
        buckets = self.module("gcp")["locals"][0]["buckets"]
        return {key: self._name("gcp", body["name"]) for key, body in buckets.items()}

    def dataproc_cluster(self) -> str:
        cluster = self.module("gcp")["resource"]["google_dataproc_cluster"]["this"]
        return self._name("gcp", cluster["name"])

    def products_role(self) -> str:
        role = self.module("supporting")["resource"]["aws_iam_role"]["products"]
        return self._name("supporting", role["name"])

    def products_trusted_subjects(self) -> set[str]:
        policy = self.module("supporting")["data"]["aws_iam_policy_document"]["products_assume"]
        return {
            self._name("supporting", value)
            for statement in policy["statement"]
            for condition in statement["condition"]
            if condition["variable"].endswith(":sub")
            for value in condition["values"]
        }

    def redis_url_secret(self) -> tuple[str, str]:
        """(Kubernetes Secret name, its Secrets Manager source)."""
        secret = self.module("elasticache")["resource"]["aws_secretsmanager_secret"]["url"]
        scope = self.module_scope("elasticache")
        return scope["var.url_secret_name"], self._name("elasticache", secret["name"])

    def app_secrets(self) -> dict[str, str]:
        """Kubernetes Secret name -> its Secrets Manager source, for the chart's secrets."""
        names: list[str] = self.platform["module"]["app_secrets"]["secret_names"]
        secret = self.module("app_secrets")["resource"]["aws_secretsmanager_secret"]["this"]
        return {name: self._name("app_secrets", secret["name"], key=name) for name in names}

    def kafka_ports(self) -> set[int]:
        encryption = self.module_scope("msk")["var.client_broker_encryption"]
        return {9094} if encryption == "TLS" else {9092, 9094}

    def ingress_ports(self, module: str) -> set[int]:
        rules = self.module(module)["resource"]["aws_vpc_security_group_ingress_rule"]
        ports = [str(rule["from_port"]) for rule in rules.values()]
        return {int(port) for port in ports if port.isdigit()}

    def variable(self, name: str) -> str:
        return self.root_scope()[f"var.{name}"]

    def helm_values(self) -> Hcl:
        block = next(b for b in self.platform["locals"] if "helm_values" in b)
        values: Hcl = block["helm_values"]
        return values


@dataclass
class Chart:
    """What the chart, rendered for one environment, refers to."""

    manifests: list[dict[str, Any]]
    platform_values: Hcl

    @classmethod
    def rendered(cls, environment: str, *extra: str) -> "Chart":
        values = yaml.safe_load((k8s.CHART / f"values-{environment}-platform.yaml").read_text())
        return cls(k8s.render(k8s.CHART, environment, *extra), values)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.manifests if d["kind"] == kind}

    def config(self, service: str) -> dict[str, str]:
        data: dict[str, str] = self.of_kind("ConfigMap")[f"cloudmart-{service}"]["data"]
        return data

    def secret_refs(self) -> set[str]:
        """Every Secret a pod of the chart reads: environment references and volumes."""
        pods = [
            doc["spec"]["template"]["spec"]
            for doc in self.manifests
            if "template" in doc.get("spec", {})
        ]
        from_env = {
            entry["valueFrom"]["secretKeyRef"]["name"]
            for pod in pods
            for c in pod["containers"]
            for entry in c.get("env", [])
            if "secretKeyRef" in entry.get("valueFrom", {})
        }
        from_volumes = {
            volume["secret"]["secretName"]
            for pod in pods
            for volume in pod.get("volumes", [])
            if "secret" in volume
        }
        return from_env | from_volumes

    def egress_ports(self, service: str) -> set[int]:
        spec = self.of_kind("NetworkPolicy")[f"cloudmart-{service}"]["spec"]
        return {
            port["port"]
            for rule in spec["egress"]
            for peer in rule["to"]
            if "ipBlock" in peer and peer["ipBlock"]["cidr"] != "0.0.0.0/0"
            for port in rule.get("ports", [])
        }


def mismatches(chart: Chart, terraform: Terraform) -> list[str]:
    """Every name or port one side uses that the other does not have."""
    found: list[str] = []

    def expect(what: str, chart_side: Any, terraform_side: Any) -> None:
        if chart_side != terraform_side:
            found.append(f"{what}: the chart has {chart_side!r}, Terraform {terraform_side!r}")

    products = chart.config("products")
    used_tables = {products["PRODUCTS_TABLE"], products["RESERVATIONS_TABLE"]}
    expect("DynamoDB tables", used_tables, terraform.tables())

    buckets = terraform.buckets()
    analytics = chart.platform_values["analytics"]
    expect("checkpoint bucket", analytics["checkpointDir"].split("/")[2], buckets["checkpoints"])
    expect("data lake bucket", analytics["lakeDir"].split("/")[2], buckets["results"])
    expect("Dataproc staging bucket", analytics["dataproc"]["stagingBucket"], buckets["staging"])
    expect("Dataproc cluster", analytics["dataproc"]["cluster"], terraform.dataproc_cluster())
    for flink in chart.of_kind("FlinkDeployment").values():
        args = flink["spec"]["job"]["args"]
        for flag, bucket in (("--checkpoint-dir", "checkpoints"), ("--lake-dir", "results")):
            expect(f"Flink {flag}", args[args.index(flag) + 1].split("/")[2], buckets[bucket])

    account = chart.of_kind("ServiceAccount")["cloudmart-products"]
    role_arn = account["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")
    expect("products IAM role", role_arn.rpartition(":role/")[2], terraform.products_role())
    subject = f"system:serviceaccount:{account['metadata']['namespace']}:cloudmart-products"
    trusted = terraform.products_trusted_subjects()
    expect("products role's trusted service account", {subject}, trusted)

    secret, source = terraform.redis_url_secret()
    expect("Redis URL secret", chart.platform_values["redis"]["urlSecret"], secret)
    if secret not in chart.secret_refs():
        found.append(f"no service reads REDIS_URL from the Secret {secret!r}")
    expect("Redis URL secret's source", source, f"cloudmart-{terraform.environment}/{secret}")

    sources = terraform.app_secrets()
    expect("secrets", chart.secret_refs() - {secret}, set(sources))
    for name, source in sources.items():
        expect(f"source of the Secret {name}", source, f"cloudmart-{terraform.environment}/{name}")

    expect("Kafka protocol", chart.config("orders")["KAFKA_SECURITY_PROTOCOL"], "SSL")
    kafka_ports = chart.egress_ports("orders") & {9092, 9094}
    expect("Kafka ports", kafka_ports, terraform.kafka_ports())
    if 6379 not in chart.egress_ports("orders") or terraform.ingress_ports("elasticache") != {6379}:
        found.append("Redis port: the chart and the cache's security group disagree")
    if 5432 not in chart.egress_ports("pgbouncer") or 5432 not in terraform.ingress_ports("rds"):
        found.append("PostgreSQL port: pgbouncer and the database's security group disagree")

    expect("VPC CIDR", chart.platform_values["network"]["vpcCidr"], terraform.variable("vpc_cidr"))
    expect("region", chart.platform_values["aws"]["region"], terraform.variable("aws_region"))
    ingress = chart.of_kind("Ingress")["cloudmart"]["spec"]["rules"][0]["host"]
    expect("shop host", ingress, terraform.variable("shop_host"))
    expect("environment", chart.config("orders")["ENVIRONMENT"], terraform.variable("environment"))
    return found


@pytest.fixture(scope="module", params=ENVS)
def sides(request: pytest.FixtureRequest) -> tuple[Chart, Terraform]:
    environment: str = request.param
    return Chart.rendered(environment), Terraform(environment)


def test_the_chart_uses_exactly_what_terraform_makes(sides: tuple[Chart, Terraform]) -> None:
    chart, terraform = sides
    assert mismatches(chart, terraform) == []


def test_the_flink_job_on_eks_uses_what_terraform_makes_too() -> None:
    chart = Chart.rendered("prod", "--set", "analytics.runOn=eks")
    assert chart.of_kind("FlinkDeployment")
    assert mismatches(chart, Terraform("prod")) == []


def test_the_platform_values_come_from_terraform_outputs_only() -> None:
    # Each name the chart takes from the platform file is a module output in helm_values.tf.
    values = Terraform("prod").helm_values()
    products = values["services"]["products"]
    assert products["roleArn"] == "${module.supporting.products_role_arn}"
    assert products["config"]["PRODUCTS_TABLE"] == '${module.dynamodb.table_names["products"]}'
    assert products["config"]["RESERVATIONS_TABLE"] == (
        '${module.dynamodb.table_names["product-reservations"]}'
    )
    assert values["kafka"]["bootstrapServers"] == "${module.msk.bootstrap_brokers_tls}"
    assert values["redis"]["urlSecret"] == "${module.elasticache.url_secret_name}"
    assert values["postgres"]["host"] == "${module.rds.address}"
    assert (
        values["analytics"]["checkpointDir"] == "gs://${module.gcp.checkpoint_bucket}/checkpoints"
    )
    assert values["analytics"]["lakeDir"] == "gs://${module.gcp.results_bucket}/lake"
    assert values["analytics"]["dataproc"]["cluster"] == "${module.gcp.cluster_name}"
    # And the hand-written environment files no longer carry any of them.
    for env in ENVS:
        typed = (k8s.CHART / f"values-{env}.yaml").read_text()
        for key in ("bootstrapServers", "roleArn", "checkpointDir", "lakeDir", "PRODUCTS_TABLE"):
            assert key not in typed, f"values-{env}.yaml types {key}: it comes from Terraform"


def _renamed(terraform: Terraform, module: str, path: tuple[str, ...], value: str) -> Terraform:
    changed = copy.deepcopy(terraform)
    node = changed.module(module)
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("module", "path", "value", "caught"),
    [
        (
            "dynamodb",
            ("resource", "aws_dynamodb_table", "this", "name"),
            "${var.name_prefix}-catalog-${each.key}",
            "DynamoDB tables",
        ),
        (
            "gcp",
            ("locals", 0, "buckets", "checkpoints", "name"),
            "${var.name_prefix}-analytics-checkpoints",
            "checkpoint bucket",
        ),
        (
            "gcp",
            ("locals", 0, "buckets", "results", "name"),
            "${var.name_prefix}-lake",
            "data lake bucket",
        ),
        (
            "supporting",
            ("resource", "aws_iam_role", "products", "name"),
            "${var.name}-products-dynamodb",
            "products IAM role",
        ),
        (
            "supporting",
            ("variable", "products_service_account", "default"),
            "products",
            "trusted service account",
        ),
        (
            "elasticache",
            ("variable", "url_secret_name", "default"),
            "redis-url",
            "Redis URL secret",
        ),
        (
            "msk",
            ("variable", "client_broker_encryption", "default"),
            "TLS_PLAINTEXT",
            "Kafka ports",
        ),
    ],
)
def test_a_terraform_rename_is_caught(
    sides: tuple[Chart, Terraform], module: str, path: tuple[Any, ...], value: str, caught: str
) -> None:
    chart, terraform = sides
    problems = mismatches(chart, _renamed(terraform, module, path, value))
    assert any(caught in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("setting", "caught"),
    [
        ("services.products.config.PRODUCTS_TABLE=products", "DynamoDB tables"),
        ("analytics.lakeDir=gs://cloudmart-lake/lake", "data lake bucket"),
        (
            "services.products.roleArn=arn:aws:iam::123456789012:role/cloudmart-products-dynamodb",
            "products IAM role",
        ),
        ("kafka.securityProtocol=PLAINTEXT", "Kafka protocol"),
        ("redis.urlSecret=cloudmart-cache", "Redis URL secret"),
        ("pgbouncer.usersSecret=cloudmart-pgbouncer", "secrets"),
    ],
)
def test_a_chart_rename_is_caught(setting: str, caught: str) -> None:
    key, _, value = setting.partition("=")
    chart = Chart.rendered("prod", "--set", setting)
    node = chart.platform_values
    *parents, last = key.split(".")
    for parent in parents:
        node = node.setdefault(parent, {})
    node[last] = value  # what the chart was given, as the platform file would say it
    problems = mismatches(chart, Terraform("prod"))
    assert any(caught in problem for problem in problems), problems


@pytest.mark.parametrize("environment", ENVS)
def test_every_image_the_chart_runs_is_built_and_has_a_repository(environment: str) -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "images.yml").read_text())
    built = {entry["image"] for entry in workflow["jobs"]["build"]["strategy"]["matrix"]["include"]}
    repositories = set(parse_dir(MODULES / "ecr")["variable"]["repositories"]["default"])
    registry = yaml.safe_load((k8s.CHART / f"values-{environment}.yaml").read_text())["image"]
    used = {
        image.rpartition(":")[0].removeprefix(f"{registry['registry']}/cloudmart/")
        for doc in k8s.render(k8s.CHART, environment)
        for pod in [doc.get("spec", {}).get("template", {}).get("spec", {})]
        for c in pod.get("containers", [])
        for image in [c["image"]]
    }
    assert used <= built == repositories


def test_a_secret_the_chart_reads_but_terraform_lacks_is_caught(
    sides: tuple[Chart, Terraform],
) -> None:
    chart, terraform = sides
    changed = copy.deepcopy(terraform)
    names = changed.platform["module"]["app_secrets"]["secret_names"]
    names.remove("cloudmart-stripe")
    problems = mismatches(chart, changed)
    assert any(problem.startswith("secrets:") for problem in problems), problems
