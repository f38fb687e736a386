"""Container images and docker-compose (issue #11), checked without a Docker engine.

hadolint and checkov lint the Dockerfiles, check-jsonschema validates the compose file against
the Compose specification, and the rest parses both and holds them to the local stack: the same
ports, environment, topics and databases, non-root images, pinned bases, nothing of local/.
"""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import cloudmart_local.secrets as local_secrets
from cloudmart_common import topology
from cloudmart_common.settings import local_database_url
from cloudmart_local.layout import (
    DATABASES,
    DYNAMODB_PORT,
    FLINK_METRICS_PORT,
    FLINK_UI_PORT,
    KAFKA_PORT,
    LOCALSTRIPE_PORT,
    MAILPIT_PORT,
    POSTGRES_PORT,
    PROMETHEUS_PORT,
    REDIS_PORT,
    SERVICE_PORTS,
    SMTP_PORT,
)
from deploy.tests.tools import ROOT, checkov, run, tool

DOCKER = ROOT / "deploy" / "docker"
SERVICE_DOCKERFILE = DOCKER / "service.Dockerfile"
LAMBDA_DOCKERFILE = DOCKER / "catalog-import.Dockerfile"
ANALYTICS_DOCKERFILE = ROOT / "analytics" / "Dockerfile"
DOCKERFILES = [
    SERVICE_DOCKERFILE,
    LAMBDA_DOCKERFILE,
    DOCKER / "localstripe.Dockerfile",
    DOCKER / "pgbouncer.Dockerfile",
    ANALYTICS_DOCKERFILE,
]
COMPOSE_FILE = ROOT / "docker-compose.yml"
CONTAINER_PORT = 8080
UVICORN = (
    "uvicorn --factory cloudmart_${SERVICE}.app:create_app --host 0.0.0.0 --port 8080 "
    "--no-access-log --no-server-header --timeout-graceful-shutdown 10 --timeout-keep-alive 75"
)
# What the local stack sets that compose leaves out on purpose: a host path for span files.
NOT_IN_COMPOSE = {"TRACE_FILE"}


# --- a small Dockerfile parser: instructions (continuations joined), grouped by stage ---------


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    image: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(path: Path) -> list[Instruction]:
    parsed: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments inside a continued RUN do not end it
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        parsed.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    return parsed


def stages(path: Path) -> list[Stage]:
    result: list[Stage] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            result.append(Stage(words[0], alias))
        else:
            assert result, f"{path}: {instruction.keyword} before the first FROM"
            result[-1].instructions.append(instruction)
    assert result, f"{path} has no FROM"
    return result


def exec_form(instruction: Instruction) -> list[str]:
    value = json.loads(instruction.arguments)
    assert isinstance(value, list), f"{instruction.keyword} must use the exec (JSON) form"
    return [str(part) for part in value]


def copy_sources(instruction: Instruction) -> list[str]:
    """The build-context sources of a COPY/ADD (none for COPY --from=<stage>)."""
    words = shlex.split(instruction.arguments)
    if any(w.startswith("--from=") for w in words):
        return []
    return [w for w in words if not w.startswith("--")][:-1]


# --- linters ------------------------------------------------------------------------------------


def test_every_dockerfile_is_covered() -> None:
    found = {*DOCKER.glob("*Dockerfile"), *ROOT.glob("analytics/*Dockerfile")}
    assert found == set(DOCKERFILES)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_has_no_warnings(dockerfile: Path) -> None:
    result = run(tool("hadolint"), "--no-color", "--failure-threshold", "warning", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_the_dockerfiles() -> None:
    for target in (("-d", "deploy/docker"), ("-f", "analytics/Dockerfile")):
        result = checkov("--framework", "dockerfile", *target)
        assert result.returncode == 0, result.stdout + result.stderr
        passed = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", result.stdout)
        assert passed is not None, result.stdout + result.stderr
        assert passed.group(2) == "0", result.stdout
        assert int(passed.group(1)) > 20, result.stdout  # it did look at the files


def test_compose_file_matches_the_compose_specification() -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfiles --------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_final_stage_runs_as_a_non_root_user(dockerfile: Path) -> None:
    users = stages(dockerfile)[-1].all("USER")
    assert users, f"{dockerfile.name}: the final stage sets no USER"
    user, _, group = users[-1].arguments.partition(":")
    assert user not in {"root", "0"}
    assert group not in {"root", "0"}
    # Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert user.isdigit(), users[-1].arguments
    assert int(user) >= 1000, users[-1].arguments


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(dockerfile: Path) -> None:
    aliases: set[str] = set()
    for stage in stages(dockerfile):
        if stage.image not in aliases:
            name, _, tag = stage.image.rpartition(":")
            assert name, f"{stage.image}: no tag"
            assert "/" not in tag, f"{stage.image}: no tag"
            assert tag != "latest", stage.image
            assert re.search(r"\d+\.\d+", tag), f"{stage.image}: not an exact version"
        if stage.alias:
            aliases.add(stage.alias)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_nothing_of_the_laptop_stack_goes_into_an_image(dockerfile: Path) -> None:
    for stage in stages(dockerfile):
        for instruction in stage.all("COPY") + stage.all("ADD"):
            for source in copy_sources(instruction):
                top = source.lstrip("./").split("/")[0]
                assert top not in {"local", ".cloudmart", ".venv", ".git"}, instruction
                assert source not in {".", "./"}, f"{dockerfile.name}: copies the whole context"
    assert not any(stage.all("ADD") for stage in stages(dockerfile)), "ADD fetches/unpacks: COPY"


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    wanted = {".cloudmart", ".venv", "**/node_modules", "web/dist", "artifacts", ".git"}
    assert wanted | {"bench/results", "**/__pycache__", "analytics/target", "local"} <= ignored


def test_service_image_is_one_parameterised_definition() -> None:
    parsed = stages(SERVICE_DOCKERFILE)
    builder = next(s for s in parsed if s.alias == "builder")
    final = parsed[-1]
    assert builder.image == final.image, "the venv links to the builder's interpreter"
    assert final.image.startswith("python:3.11.")
    assert final.image.endswith("-slim-bookworm")
    assert any(s.image == "ghcr.io/astral-sh/uv:0.13.9" for s in parsed)
    syncs = [i.arguments for i in builder.all("RUN") if "uv sync" in i.arguments]
    assert len(syncs) == 2
    assert "--no-install-workspace" in syncs[0]
    for sync in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable", '--package "cloudmart-${SERVICE}"'):
            assert flag in sync, (flag, sync)
    assert "UV_COMPILE_BYTECODE=1" in " ".join(i.arguments for i in builder.all("ENV"))
    env = " ".join(i.arguments for i in final.all("ENV"))
    for setting in ("SERVICE=${SERVICE}", "PATH=/app/.venv/bin:$PATH", "PYTHONDONTWRITEBYTECODE=1"):
        assert setting in env
    assert [i.arguments for i in final.all("EXPOSE")] == [str(CONTAINER_PORT)]
    # The web UI is built from the lock (npm ci) and lands where WEB_DIST_DIR points.
    web = next(s for s in parsed if s.alias == "web")
    assert [i.arguments for i in web.all("RUN")] == ["npm ci --no-audit --no-fund", "npm run build"]
    assert "WEB_DIST_DIR=/app/web/dist" in env
    assert any(i.arguments.endswith("/web/dist /app/web/dist") for i in final.all("COPY"))


def test_service_image_healthcheck_and_command() -> None:
    final = stages(SERVICE_DOCKERFILE)[-1]
    [healthcheck] = final.all("HEALTHCHECK")
    assert healthcheck.arguments.count("CMD") == 1
    probe = json.loads(healthcheck.arguments.split("CMD", 1)[1])
    assert probe[0] == "python"
    assert "http://127.0.0.1:8080/health" in probe[2]
    [command] = final.all("CMD")
    shell, flag, script = exec_form(command)
    assert (shell, flag) == ("sh", "-c")
    # exec: uvicorn replaces the shell as PID 1 and so receives SIGTERM itself.
    assert script.startswith("exec ")
    assert script[5:].replace('"', "") == UVICORN
    assert not final.all("ENTRYPOINT"), "migrations replace CMD: alembic -c ... upgrade head"


def test_migrations_config_is_in_the_image_of_each_database_owner() -> None:
    builder = next(s for s in stages(SERVICE_DOCKERFILE) if s.alias == "builder")
    runs = " ".join(i.arguments for i in builder.all("RUN"))
    assert 'cp "services/${SERVICE}/alembic.ini" "/out/services/${SERVICE}/"' in runs
    assert "COPY --from=builder /out/ /app/" in [
        f"COPY {i.arguments}" for i in stages(SERVICE_DOCKERFILE)[-1].all("COPY")
    ]
    for name in DATABASES:
        ini = (ROOT / "services" / name / "alembic.ini").read_text()
        # The scripts ship inside the installed package, so the ini alone is enough.
        assert f"script_location = cloudmart_{name}:migrations" in ini
        package = ROOT / "services" / name / "src" / f"cloudmart_{name}" / "migrations"
        assert any((package / "versions").glob("*.py")), f"{name}: no migration scripts"


def test_lambda_image_runs_the_real_handler() -> None:
    from cloudmart_products.catalog_import import handler

    final = stages(LAMBDA_DOCKERFILE)[-1]
    assert final.image.startswith("public.ecr.aws/lambda/python:3.11")
    [command] = final.all("CMD")
    module, _, function = exec_form(command)[0].rpartition(".")
    assert module == handler.__name__
    assert callable(getattr(handler, function))
    assert any("${LAMBDA_TASK_ROOT}" in i.arguments for i in final.all("COPY"))
    runs = " ".join(i.arguments for s in stages(LAMBDA_DOCKERFILE) for i in s.all("RUN"))
    assert "--package cloudmart-products" in runs  # the import is an entry point of products
    assert "--frozen" in runs
    # Without it the workspace members land as editable links to the builder's /src.
    assert "--no-sources" in runs
    assert "--target /build" in runs


def test_analytics_image_carries_the_job_the_prometheus_reporter_and_gcs() -> None:
    pom = (ROOT / "analytics" / "pom.xml").read_text()
    version = re.search(r"<flink\.version>([^<]+)</flink\.version>", pom)
    artifact = re.search(r"<artifactId>(order-analytics)</artifactId>\s*<version>([^<]+)<", pom)
    assert version
    assert artifact
    build, final = stages(ANALYTICS_DOCKERFILE)
    assert build.image.startswith("maven:3.9.")
    assert "eclipse-temurin-17" in build.image
    assert final.image == f"flink:{version.group(1)}-scala_2.12-java17"
    runs = " ".join(i.arguments for i in build.all("RUN"))
    assert "mvn -B package -DskipTests" in runs
    assert f"target/{artifact.group(1)}-{artifact.group(2)}.jar" in runs
    copies = [i.arguments for i in final.all("COPY")]
    assert any(c.endswith(" /opt/flink/usrlib/order-analytics.jar") for c in copies)
    plugin = " ".join(i.arguments for i in final.all("RUN"))
    assert "/opt/flink/opt/flink-metrics-prometheus-*.jar" in plugin
    assert "/opt/flink/plugins/metrics-prometheus/" in plugin
    # gs:// for the checkpoints and the data lake: the GCS file system as a plugin.
    assert "cp /opt/flink/opt/flink-gs-fs-hadoop-*.jar /opt/flink/plugins/gs-fs-hadoop/" in plugin


def build_contexts() -> list[tuple[str, Path, Path, dict[str, str]]]:
    """(image, Dockerfile, context, build args) as the images workflow builds each image."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "images.yml").read_text())
    found = []
    for entry in workflow["jobs"]["build"]["strategy"]["matrix"]["include"]:
        args = dict(a.split("=", 1) for a in str(entry["build-args"]).split() if "=" in a)
        found.append((entry["image"], ROOT / entry["dockerfile"], ROOT / entry["context"], args))
    return found


def missing_copy_sources(dockerfile: Path, context: Path, args: dict[str, str]) -> list[str]:
    """The COPY/ADD sources of `dockerfile` that are not in `context` (build args substituted),
    or that the context's .dockerignore leaves out."""
    ignore = context / ".dockerignore"
    ignored = [
        line.strip().rstrip("/")
        for line in (ignore.read_text().splitlines() if ignore.is_file() else [])
        if line.strip() and not line.startswith("#") and not set("*?![") & set(line)
    ]
    missing = []
    for stage in stages(dockerfile):
        for instruction in stage.all("COPY") + stage.all("ADD"):
            for source in copy_sources(instruction):
                for name, value in args.items():
                    source = source.replace(f"${{{name}}}", value).replace(f"${name}", value)
                left_out = any(source == i or source.startswith(f"{i}/") for i in ignored)
                if left_out or not any(context.glob(source.rstrip("/"))):
                    missing.append(source)
    return missing


@pytest.mark.parametrize("image", [image for image, *_ in build_contexts()])
def test_every_copy_source_exists_in_the_context_the_workflow_builds_with(image: str) -> None:
    _, dockerfile, context, args = next(entry for entry in build_contexts() if entry[0] == image)
    assert missing_copy_sources(dockerfile, context, args) == []


def test_a_wrong_build_context_is_caught() -> None:
    # The analytics image was once built with `context: analytics`: analytics/analytics/pom.xml.
    assert missing_copy_sources(ANALYTICS_DOCKERFILE, ROOT / "analytics", {}) == [
        "analytics/pom.xml",
        "analytics/src",
    ]


# --- docker-compose -----------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def host_ports(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port; every published port must be bound to loopback only."""
    published: dict[int, int] = {}
    for mapping in service.get("ports", []):
        address, host, container = str(mapping).split(":")
        assert address == "127.0.0.1", f"{mapping}: published beyond loopback"
        published[int(container)] = int(host)
    return published


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {key: str(value) for key, value in env.items()}


def test_services_publish_the_local_ports_on_8080() -> None:
    defined = services()
    for name, port in SERVICE_PORTS.items():
        assert host_ports(defined[name]) == {CONTAINER_PORT: port}, name
        build = defined[name]["build"]
        assert build["dockerfile"] == "deploy/docker/service.Dockerfile"
        assert build["context"] == "."
        assert build["args"] == {"SERVICE": name}
        assert defined[name]["image"] == f"cloudmart/{name}:local"
        assert defined[name]["read_only"] is True
        assert defined[name]["tmpfs"] == ["/tmp"]


def test_infrastructure_publishes_the_local_ports() -> None:
    defined = services()
    expected = {
        "postgres": {5432: POSTGRES_PORT},
        "redis": {6379: REDIS_PORT},
        "kafka": {19092: KAFKA_PORT},
        "dynamodb": {5000: DYNAMODB_PORT},
        "localstripe": {8420: LOCALSTRIPE_PORT},
        "mailpit": {1025: SMTP_PORT, 8025: MAILPIT_PORT},
        "prometheus": {9090: PROMETHEUS_PORT},
        "analytics-jobmanager": {8081: FLINK_UI_PORT, 9249: FLINK_METRICS_PORT},
    }
    for name, ports in expected.items():
        assert host_ports(defined[name]) == ports, name
    kafka = environment(defined["kafka"])
    assert f"EXTERNAL://127.0.0.1:{KAFKA_PORT}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_services_get_what_the_local_stack_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real service_clients() would create .cloudmart/secrets: give it fixed ones instead.
    monkeypatch.setattr(local_secrets, "service_clients", lambda: dict.fromkeys(SERVICE_PORTS))
    defined = services()
    config = compose()["configs"]["service-clients"]["content"]
    clients: dict[str, str] = json.loads(config)
    assert set(clients) == set(SERVICE_PORTS)
    for name in SERVICE_PORTS:
        env = environment(defined[name])
        wanted = set(local_secrets.service_environment(name)) - NOT_IN_COMPOSE
        assert wanted <= set(env), f"{name} misses {sorted(wanted - set(env))}"
        assert env["SERVICE_CLIENT_ID"] == name
        # The users service checks each secret against its clients file: they must agree.
        assert env["SERVICE_CLIENT_SECRET"] == clients[name]
        assert "local-only" in clients[name]
        assert env["JWKS_URL"].startswith("http://users:8080/")
        assert env["SERVICE_TOKEN_URL"] == "http://users:8080/api/users/oauth/token"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        if name in DATABASES:
            local = local_database_url(name).get_secret_value()
            assert env["DATABASE_URL"] == local.replace("127.0.0.1:16432", "postgres:5432")
    users = defined["users"]
    assert environment(users)["SERVICE_CLIENTS_FILE"] == users["configs"][0]["target"]
    assert users["configs"][0]["source"] == "service-clients"
    assert environment(users)["JWT_SIGNING_KEYS_DIR"] == "/var/lib/cloudmart/jwt-keys"
    gateway = environment(defined["gateway"])
    for upstream in SERVICE_PORTS.keys() - {"gateway"}:
        assert json.loads(gateway[f"{upstream.upper()}_URLS"]) == [f"http://{upstream}:8080"]
    orders = environment(defined["orders"])
    for upstream in ("users", "products", "payments"):
        assert orders[f"{upstream.upper()}_URL"] == f"http://{upstream}:8080"


def test_local_secrets_are_marked_local_only() -> None:
    for key, value in compose()["x-local-secrets"].items():
        assert "local-only" in str(value), f"x-local-secrets.{key} is not marked local-only"
    assert "LOCAL ONLY" in COMPOSE_FILE.read_text()


def test_kafka_init_creates_the_design_topics() -> None:
    init = services()["kafka-init"]
    assert init["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    script = init["command"][0]
    created = {
        name: (int(partitions), int(days))
        for name, partitions, days in re.findall(r"^\s*create (\S+) (\d+) (\d+)$", script, re.M)
    }
    assert created == {t.name: (t.partitions, t.retention_days) for t in topology.TOPICS}
    # $$ is compose's escape: the shell, not compose, must see $1 $2 $3.
    for argument in ('"$$1"', '"$$2"', "$$3 * 86400000", "--if-not-exists"):
        assert argument in script


def test_one_database_and_migration_per_owner() -> None:
    sql = (DOCKER / "postgres-init" / "10-cloudmart-databases.sql").read_text()
    defined = services()
    mounts = defined["postgres"]["volumes"]
    assert "./deploy/docker/postgres-init:/docker-entrypoint-initdb.d:ro" in mounts
    for name in DATABASES:
        password = local_database_url(name).get_secret_value().split(":")[2].split("@")[0]
        assert f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}';" in sql
        assert f'CREATE DATABASE "{name}" OWNER "{name}";' in sql
        migrate = defined[f"migrate-{name}"]
        assert migrate["command"] == [
            "alembic",
            "-c",
            f"services/{name}/alembic.ini",
            "upgrade",
            "head",
        ]
        assert migrate["image"] == defined[name]["image"]
        assert migrate["build"] == defined[name]["build"]
        assert environment(migrate)["DATABASE_URL"] == environment(defined[name])["DATABASE_URL"]
        assert defined[name]["depends_on"][f"migrate-{name}"] == {
            "condition": "service_completed_successfully"
        }
    assert sql.count("CREATE DATABASE") == len(DATABASES)


def healthchecked(service: dict[str, Any]) -> bool:
    if "healthcheck" in service:
        return not service["healthcheck"].get("disable", False)
    build = service.get("build")
    if isinstance(build, dict):
        context = ROOT / build.get("context", ".")
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        return bool(stages(dockerfile)[-1].all("HEALTHCHECK"))
    return False  # a pulled image's own HEALTHCHECK is not visible from here


def test_start_order_waits_for_health_and_one_shot_jobs() -> None:
    defined = services()
    one_shot = {name for name, s in defined.items() if s.get("restart") == "no"}
    assert one_shot == {
        "kafka-init",
        "dynamodb-init",
        "jwt-keygen",
        *(f"migrate-{name}" for name in DATABASES),
    }
    for name, service in defined.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in defined, f"{name} depends on unknown {target}"
            wanted = {
                "service_completed_successfully" if target in one_shot else "service_healthy",
                *(["service_started"] if target == "mailpit" else []),
            }
            assert condition["condition"] in wanted, (name, target, condition)
            if condition["condition"] == "service_healthy":
                assert healthchecked(defined[target]), f"{target} has no healthcheck"
    for name in SERVICE_PORTS:
        needs = defined[name]["depends_on"]
        assert needs["kafka-init"]["condition"] == "service_completed_successfully", name
        assert "redis" in needs, name
    assert "dynamodb-init" in defined["products"]["depends_on"]
    assert "jwt-keygen" in defined["users"]["depends_on"]


def test_compose_images_are_pinned_or_built_here() -> None:
    for name, service in services().items():
        image = service["image"]
        if image.startswith("cloudmart/"):
            assert image.endswith(":local"), name
            assert "build" in service, name
            continue
        tag = image.rpartition(":")[2]
        assert tag != "latest", f"{name}: {image}"
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not an exact version"
        assert "amazon/dynamodb-local" not in image  # licence: never DynamoDB Local


def test_compose_never_mounts_or_builds_the_laptop_stack() -> None:
    for name, service in services().items():
        build = service.get("build")
        if isinstance(build, dict):
            assert not str(build.get("context", ".")).lstrip("./").startswith("local"), name
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            assert not source.lstrip("./").startswith(("local", ".cloudmart")), (name, volume)
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_prometheus_scrapes_every_service_and_the_job() -> None:
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    labelled = {
        target: group["labels"]["service"]
        for group in jobs["cloudmart"]["static_configs"]
        for target in group["targets"]
    }
    assert labelled == {f"{name}:{CONTAINER_PORT}": name for name in SERVICE_PORTS}
    [analytics] = jobs["analytics"]["static_configs"]
    assert set(analytics["targets"]) == {"analytics-jobmanager:9249", "analytics-taskmanager:9249"}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    mounts = services()["prometheus"]["volumes"]
    assert "./deploy/observability/rules:/etc/prometheus/rules:ro" in mounts
    properties = services()["analytics-jobmanager"]["environment"]["FLINK_PROPERTIES"]
    assert "metrics.reporter.prom.port: 9249" in properties
    assert "PrometheusReporterFactory" in properties


def test_start_order_has_no_cycle() -> None:
    defined = services()
    needs = {name: set(service.get("depends_on", {})) for name, service in defined.items()}
    started: list[str] = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if wanted <= set(started))
        assert ready, f"depends_on cycle among {sorted(needs)}"
        started += ready
        for name in ready:
            del needs[name]
    # Users first among the services: everyone else fetches its JWKS and service tokens.
    order = [name for name in started if name in SERVICE_PORTS]
    assert order[0] == "users"
    assert order[-1] == "gateway"
