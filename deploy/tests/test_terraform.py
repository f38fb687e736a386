"""Terraform (deploy/terraform): format, parsing, architecture.md §7 numbers, security groups,
checkov.

No provider can be downloaded here, so `terraform validate` cannot run: hclfmt checks the canonical
format, python-hcl2 parses every file, these tests assert the design's numbers and the security
group edges on the parsed HCL, and checkov scans the whole tree.
"""

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from deploy.tests.tools import ROOT, checkov, run, tool

TERRAFORM = ROOT / "deploy" / "terraform"
MODULES = TERRAFORM / "modules"
PLATFORM = TERRAFORM / "platform"  # the one root module; envs/<env> hold its backend and values
ENVS = ("dev", "prod")
PRODUCTS_SCHEMAS = ROOT / "services" / "products" / "src" / "cloudmart_products"
HCL_FILES = sorted(
    [*TERRAFORM.rglob("*.tf"), *TERRAFORM.rglob("*.tfvars"), *TERRAFORM.rglob("*.hcl")]
)
MODULE_NAMES = sorted(path.name for path in MODULES.iterdir() if path.is_dir())

Hcl = dict[str, Any]


def _clean(value: Any) -> Any:
    """python-hcl2 keeps string quotes and adds bookkeeping keys: strip both."""
    if isinstance(value, dict):
        return {
            _clean(key): _clean(item) for key, item in value.items() if not key.startswith("__")
        }
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse(path: Path) -> Hcl:
    with path.open() as handle:
        parsed: Hcl = _clean(hcl2.load(handle))
    return parsed


def parse_dir(directory: Path) -> Hcl:
    """Every block of a directory's .tf files, merged: {"resource": {type: {name: body}}, ...}."""
    merged: Hcl = {"resource": {}, "data": {}, "variable": {}, "output": {}, "module": {}}
    for path in sorted(directory.glob("*.tf")):
        parsed = parse(path)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    merged[kind].setdefault(type_, {}).update(named)
        for kind in ("variable", "output", "module"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
        for key in ("locals", "terraform", "provider"):
            merged.setdefault(key, []).extend(parsed.get(key, []))
    return merged


def tfvars(env: str) -> Hcl:
    return parse(TERRAFORM / "envs" / env / "terraform.tfvars")


def module(name: str) -> Hcl:
    return parse_dir(MODULES / name)


def resource(parsed: Hcl, type_: str, name: str) -> Hcl:
    body: Hcl = parsed["resource"][type_][name]
    return body


def test_tree_has_every_module_and_env() -> None:
    expected = {"vpc", "eks", "rds", "msk", "dynamodb", "elasticache", "ecr", "s3_lambda", "gcp"}
    assert expected | {"supporting"} <= set(MODULE_NAMES)
    platform = {path.name for path in PLATFORM.iterdir()}
    assert {"versions.tf", "backend.tf", "main.tf", "variables.tf", "outputs.tf"} <= platform
    for env in ENVS:
        files = {path.name for path in (TERRAFORM / "envs" / env).iterdir()}
        assert files == {"backend.hcl", "terraform.tfvars"}


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_hclfmt_finds_nothing_to_change(path: Path) -> None:
    result = run(tool("hclfmt"), "-check", "-require-no-change", path)
    assert result.returncode == 0, f"{path} is not canonically formatted:\n{result.stderr}"


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_python_hcl2_parses_and_no_terraform_fmt_rewrites(path: Path) -> None:
    with path.open() as handle:
        raw: Hcl = hcl2.load(handle)
    assert raw, f"{path} parsed to nothing"
    # What `terraform fmt` rewrites and hclfmt does not: interpolation-only strings, quoted types.
    text = path.read_text()
    assert not re.search(r'=\s*"\$\{[^}]*\}"\s*$', text, re.MULTILINE), path
    for block in raw.get("variable", []):
        for name, body in block.items():
            assert not str(body.get("type", "")).startswith('"'), f"{path}: quoted type of {name}"


def test_every_variable_has_description_type_and_validation() -> None:
    directories = [MODULES / name for name in MODULE_NAMES]
    directories.append(PLATFORM)
    for directory in directories:
        variables = parse_dir(directory)["variable"]
        assert variables, directory
        for name, body in variables.items():
            where = f"{directory.relative_to(TERRAFORM)}: var.{name}"
            assert body.get("description"), f"{where} has no description"
            assert "type" in body, f"{where} has no type"
            assert body.get("validation"), f"{where} has no validation"


def test_every_output_has_description() -> None:
    directories = [MODULES / name for name in MODULE_NAMES]
    directories.append(PLATFORM)
    for directory in directories:
        outputs = parse_dir(directory)["output"]
        assert outputs, directory
        for name, body in outputs.items():
            assert body.get("description"), f"{directory.relative_to(TERRAFORM)}: output {name}"


def test_each_env_sets_every_required_variable_and_no_unknown_one() -> None:
    prod = parse_dir(PLATFORM)["variable"]
    for env in ENVS:
        values = tfvars(env)
        required = {name for name, body in prod.items() if "default" not in body}
        assert required <= set(values), f"{env}: unset {required - set(values)}"
        assert set(values) <= set(prod), f"{env}: unknown {set(values) - set(prod)}"
        assert values["environment"] == env


def test_versions_pin_terraform_and_providers() -> None:
    terraform = parse(PLATFORM / "versions.tf")["terraform"][0]
    assert terraform["required_version"] == ">= 1.5"
    providers = terraform["required_providers"][0]
    assert providers["aws"]["source"] == "hashicorp/aws"
    assert providers["aws"]["version"].startswith("~> 5.")
    assert providers["google"]["source"] == "hashicorp/google"
    assert providers["google"]["version"].startswith("~> 6.")


@pytest.mark.parametrize("env", ENVS)
def test_backend_is_s3_with_a_lock_table_and_a_key_per_env(env: str) -> None:
    terraform = parse(PLATFORM / "backend.tf")["terraform"][0]
    assert "s3" in terraform["backend"][0]
    backend = parse(TERRAFORM / "envs" / env / "backend.hcl")
    assert backend["key"] == f"cloudmart/{env}/terraform.tfstate"
    assert backend["dynamodb_table"]
    assert backend["encrypt"] is True


@pytest.mark.parametrize("env", ENVS)
def test_network_numbers_of_design(env: str) -> None:
    values = tfvars(env)
    assert values["vpc_cidr"] == "10.0.0.0/16"
    assert values["public_subnet_cidrs"] == ["10.0.0.0/24", "10.0.1.0/24"]
    assert values["private_subnet_cidrs"] == ["10.0.10.0/24", "10.0.11.0/24"]
    assert len(values["availability_zones"]) == 2
    # MSK's third broker needs a third subnet, in an AZ other than the two above.
    assert values["msk_extra_subnet_cidr"] == "10.0.12.0/24"
    assert values["msk_extra_availability_zone"] not in values["availability_zones"]
    vpc = module("vpc")
    assert "aws_flow_log" in vpc["resource"]
    assert "aws_nat_gateway" in vpc["resource"]
    assert "aws_internet_gateway" in vpc["resource"]
    msk_subnets = vpc["output"]["msk_subnet_ids"]["value"]
    assert "aws_subnet.private" in msk_subnets
    assert "aws_subnet.msk_extra" in msk_subnets


@pytest.mark.parametrize("env", ENVS)
def test_eks_numbers_of_design(env: str) -> None:
    values = tfvars(env)
    assert values["eks_node_instance_type"] == "t3.medium"
    assert values["eks_node_min_size"] == 2
    assert values["eks_node_max_size"] == 4
    major, minor = (int(part) for part in values["kubernetes_version"].split("."))
    assert (major, minor) >= (1, 27)
    eks = module("eks")
    cluster = resource(eks, "aws_eks_cluster", "this")
    assert cluster["enabled_cluster_log_types"] == "${local.log_types}"
    assert set(eks["locals"][0]["log_types"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    assert cluster["encryption_config"][0]["resources"] == ["secrets"]
    assert cluster["vpc_config"][0]["endpoint_private_access"] is True
    assert "aws_iam_openid_connect_provider" in eks["resource"]
    group = resource(eks, "aws_eks_node_group", "default")
    assert group["instance_types"] == ["${var.node_instance_type}"]
    assert group["scaling_config"][0]["min_size"] == "${var.node_min_size}"
    assert group["scaling_config"][0]["max_size"] == "${var.node_max_size}"
    # The version validation really rejects anything older than 1.27.
    validation = eks["variable"]["kubernetes_version"]["validation"][0]["condition"]
    assert ">= 27" in validation


def test_prod_keeps_design_data_services() -> None:
    values = tfvars("prod")
    assert values["rds_engine_version"] == "15"
    assert values["rds_multi_az"] is True
    assert values["rds_backup_retention_days"] >= 7
    assert values["deletion_protection"] is True
    assert values["msk_broker_count"] == 3
    assert values["redis_node_count"] >= 2
    assert values["single_nat_gateway"] is False
    assert values["eks_endpoint_public_access"] is False


def test_dev_keeps_design_shapes() -> None:
    values = tfvars("dev")
    assert values["rds_engine_version"] == "15"
    assert values["msk_broker_count"] == 3


def test_rds_module() -> None:
    rds = module("rds")
    db = resource(rds, "aws_db_instance", "this")
    assert db["engine"] == "postgres"
    assert db["multi_az"] == "${var.multi_az}"
    assert db["storage_encrypted"] is True
    assert db["iam_database_authentication_enabled"] is True
    assert db["performance_insights_enabled"] is True
    assert db["publicly_accessible"] is False
    assert db["deletion_protection"] == "${var.deletion_protection}"
    assert db["backup_retention_period"] == "${var.backup_retention_days}"
    assert rds["variable"]["engine_version"]["default"] == "15"
    assert (
        "var.backup_retention_days >= 7"
        in (rds["variable"]["backup_retention_days"]["validation"][0]["condition"])
    )
    assert resource(rds, "aws_db_parameter_group", "this")["family"] == "postgres15"


def _ingress_rules(parsed: Hcl) -> dict[str, Hcl]:
    rules: dict[str, Hcl] = parsed["resource"].get("aws_vpc_security_group_ingress_rule", {})
    # Inline rules would escape these checks: the modules use separate rule resources only.
    for name, group in parsed["resource"].get("aws_security_group", {}).items():
        assert "ingress" not in group, name
        assert "egress" not in group, name
    return rules


def test_rds_allows_5432_from_eks_nodes_only() -> None:
    rules = _ingress_rules(module("rds"))
    assert len(rules) == 1
    (rule,) = rules.values()
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (5432, 5432, "tcp")
    assert rule["referenced_security_group_id"] == "${var.eks_node_security_group_id}"
    assert "cidr_ipv4" not in rule
    assert "cidr_blocks" not in rule


def test_msk_allows_tls_9094_from_eks_and_gcp() -> None:
    msk = module("msk")
    rules = _ingress_rules(msk)
    assert set(rules) == {"kafka_from_eks", "kafka_from_gcp"}
    eks, gcp = rules["kafka_from_eks"], rules["kafka_from_gcp"]
    assert eks["referenced_security_group_id"] == "${var.eks_node_security_group_id}"
    assert "cidr_ipv4" not in eks
    assert gcp["cidr_ipv4"] == "${var.gcp_dataproc_cidr}"
    assert "referenced_security_group_id" not in gcp
    for rule in rules.values():
        assert rule["for_each"] == "${local.kafka_ports}"
        assert rule["from_port"] == rule["to_port"] == "${tonumber(each.value)}"
    ports = msk["locals"][0]["kafka_ports"]
    assert 'toset(["9092", "9094"])' in ports
    assert 'toset(["9094"])' in ports
    cluster = resource(msk, "aws_msk_cluster", "this")
    assert cluster["number_of_broker_nodes"] == "${var.broker_count}"
    assert msk["variable"]["broker_count"]["default"] == 3
    transit = cluster["encryption_info"][0]["encryption_in_transit"][0]
    assert transit["in_cluster"] is True
    # TLS only: every client (services, Flink, the topic Job) sets security.protocol SSL.
    assert msk["variable"]["client_broker_encryption"]["default"] == "TLS"
    # The root wires the GCP CIDR from one variable into both the SG and the Dataproc subnet.
    modules = parse_dir(PLATFORM)["module"]
    assert modules["msk"]["gcp_dataproc_cidr"] == "${var.gcp_dataproc_cidr}"
    assert modules["gcp"]["subnet_cidr"] == "${var.gcp_dataproc_cidr}"
    assert modules["msk"]["subnet_ids"] == "${module.vpc.msk_subnet_ids}"
    for name in ("rds", "msk", "elasticache"):
        assert modules[name]["eks_node_security_group_id"] == (
            "${module.eks.node_security_group_id}"
        )


def test_redis_allows_6379_from_eks_and_the_lambda_only() -> None:
    cache = module("elasticache")
    rules = _ingress_rules(cache)
    assert set(rules) == {"redis_from_eks", "redis_from_extra"}
    for rule in rules.values():
        assert (rule["from_port"], rule["to_port"]) == (6379, 6379)
        assert "cidr_ipv4" not in rule
    group = resource(cache, "aws_elasticache_replication_group", "this")
    assert group["engine"] == "redis"
    assert group["automatic_failover_enabled"] is True
    assert group["multi_az_enabled"] is True
    assert group["transit_encryption_enabled"] is True
    assert group["at_rest_encryption_enabled"] is True
    assert cache["variable"]["engine_version"]["default"].startswith("7.")


def test_dynamodb_tables_come_from_the_service_schema_files() -> None:
    dynamodb = module("dynamodb")
    text = (MODULES / "dynamodb" / "main.tf").read_text()
    assert "jsondecode(file(" in text
    assert "services/products/src/cloudmart_products" in text
    assert dynamodb["variable"]["schema_files"]["default"] == [
        "table_schema.json",
        "reservations_table_schema.json",
    ]
    # The path the module builds really leads to the schema files.
    schema_dir = MODULES / "dynamodb" / "../../../../services/products/src/cloudmart_products"
    assert schema_dir.resolve() == PRODUCTS_SCHEMAS.resolve()
    products = json.loads((PRODUCTS_SCHEMAS / "table_schema.json").read_text())
    indexes = {index["IndexName"] for index in products["GlobalSecondaryIndexes"]}
    assert indexes == {"category-index", "sku-index"}
    table = resource(dynamodb, "aws_dynamodb_table", "this")
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True
    dynamic = {name for block in table["dynamic"] for name in block}
    assert dynamic == {"attribute", "global_secondary_index"}


def test_ecr_repositories() -> None:
    ecr = module("ecr")
    services = {"gateway", "users", "products", "orders", "notifications", "payments", "dashboard"}
    assert set(ecr["variable"]["repositories"]["default"]) == services | {
        "analytics",
        "catalog-import",
        "pgbouncer",
    }
    repo = resource(ecr, "aws_ecr_repository", "this")
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"][0]["scan_on_push"] is True
    assert "aws_ecr_lifecycle_policy" in ecr["resource"]


def test_catalog_import_lambda() -> None:
    lambda_ = module("s3_lambda")
    function = resource(lambda_, "aws_lambda_function", "this")
    assert function["package_type"] == "Image"
    assert function["dead_letter_config"][0]["target_arn"] == "${aws_sqs_queue.dlq.arn}"
    notification = resource(lambda_, "aws_s3_bucket_notification", "incoming")
    assert notification["lambda_function"][0]["filter_prefix"] == "${var.incoming_prefix}"
    assert lambda_["variable"]["incoming_prefix"]["default"] == "incoming/"
    statements = {
        statement["sid"]: statement
        for statement in lambda_["data"]["aws_iam_policy_document"]["lambda"]["statement"]
    }
    assert statements["ReadIncoming"]["actions"] == ["s3:GetObject"]
    assert statements["ReadIncoming"]["resources"] == [
        "${module.bucket.arn}/${var.incoming_prefix}*"
    ]
    assert statements["WriteReports"]["actions"] == ["s3:PutObject"]
    assert statements["WriteReports"]["resources"] == ["${module.bucket.arn}/reports/*"]
    for statement in statements.values():
        assert "dynamodb:*" not in statement["actions"]
        assert "s3:*" not in statement["actions"]
    assert "dynamodb:DeleteItem" not in statements["UpsertProducts"]["actions"]


@pytest.mark.parametrize("env", ENVS)
def test_dataproc_numbers_of_design(env: str) -> None:
    values = tfvars(env)
    assert values["dataproc_master_count"] == 1
    assert values["dataproc_worker_count"] == 2
    assert values["dataproc_machine_type"] == "n1-standard-2"
    gcp = module("gcp")
    cluster = resource(gcp, "google_dataproc_cluster", "this")["cluster_config"][0]
    assert cluster["master_config"][0]["num_instances"] == "${var.master_count}"
    assert cluster["worker_config"][0]["num_instances"] == "${var.worker_count}"
    assert cluster["master_config"][0]["machine_type"] == "${var.machine_type}"
    assert cluster["worker_config"][0]["machine_type"] == "${var.machine_type}"
    assert cluster["software_config"][0]["optional_components"] == ["FLINK"]
    assert cluster["gce_cluster_config"][0]["internal_ip_only"] is True
    bucket = resource(gcp, "google_storage_bucket", "this")
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["versioning"][0]["enabled"] is True
    assert bucket["public_access_prevention"] == "enforced"
    # Storage rights per bucket, never project-wide.
    roles = [body["role"] for body in gcp["resource"]["google_project_iam_member"].values()]
    assert roles == ["roles/dataproc.worker"]


def test_supporting_services() -> None:
    supporting = module("supporting")
    alarm = resource(supporting, "aws_cloudwatch_metric_alarm", "billing")
    assert alarm["namespace"] == "AWS/Billing"
    assert alarm["metric_name"] == "EstimatedCharges"
    assert alarm["provider"] == "${aws.us_east_1}"
    assert resource(supporting, "aws_sns_topic", "billing")["provider"] == "${aws.us_east_1}"
    record = resource(supporting, "aws_route53_record", "shop")
    assert record["alias"][0]["name"] == "${var.alb_dns_name}"
    groups = resource(supporting, "aws_cloudwatch_log_group", "services")
    assert groups["retention_in_days"] == "${var.log_retention_days}"
    assert groups["kms_key_id"] == "${module.logs_key.key_arn}"
    assert {"access_logs", "static_assets", "backups"} <= set(supporting["module"])
    bucket = module("s3_bucket")
    block = resource(bucket, "aws_s3_bucket_public_access_block", "this")
    assert all(block[key] is True for key in ("block_public_acls", "block_public_policy"))
    assert all(block[key] is True for key in ("ignore_public_acls", "restrict_public_buckets"))
    assert "aws_s3_bucket_versioning" in bucket["resource"]
    trust = supporting["data"]["aws_iam_policy_document"]["lbc_assume"]["statement"][0]
    subjects = [c["values"] for c in trust["condition"] if c["variable"].endswith(":sub")]
    assert subjects == [["system:serviceaccount:kube-system:aws-load-balancer-controller"]]


def test_checkov_passes_with_justified_skips_only() -> None:
    result = checkov("--framework", "terraform", "-d", str(TERRAFORM))
    assert result.returncode == 0, result.stdout + result.stderr
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV2?_[A-Z]+_\d+:\S.{15,}", line), (path, line)


def test_the_flink_job_has_a_network_path_from_dataproc_to_msk() -> None:
    # HA VPN between the two VPCs, BGP on four tunnels, the Dataproc subnet let into MSK.
    modules = parse_dir(PLATFORM)["module"]
    vpn = modules["gcp_aws_vpn"]
    assert vpn["aws_vpc_id"] == "${module.vpc.vpc_id}"
    assert vpn["aws_route_table_ids"] == "${module.vpc.private_route_table_ids}"
    assert vpn["gcp_network_id"] == "${module.gcp.network_id}"
    parsed = module("gcp_aws_vpn")
    assert resource(parsed, "google_compute_external_vpn_gateway", "aws")["redundancy_type"] == (
        "FOUR_IPS_REDUNDANCY"
    )
    for kind in ("google_compute_vpn_tunnel", "google_compute_router_interface"):
        assert resource(parsed, kind, "aws")["count"] == 4
    assert resource(parsed, "google_compute_router_peer", "aws")["peer_asn"] == "${var.aws_asn}"
    assert resource(parsed, "aws_vpn_connection", "gcp")["static_routes_only"] is False
    propagation = resource(parsed, "aws_vpn_gateway_route_propagation", "private")
    assert propagation["count"] == "${length(var.aws_route_table_ids)}"
    # MSK's own route table learns the route too, and its security group lets Dataproc in.
    outputs = module("vpc")["output"]["private_route_table_ids"]["value"]
    assert "aws_route_table.msk_extra.id" in outputs
    rule = resource(module("msk"), "aws_vpc_security_group_ingress_rule", "kafka_from_gcp")
    assert rule["cidr_ipv4"] == "${var.gcp_dataproc_cidr}"
