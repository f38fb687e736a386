"""Before and after the processes start: directories, config files, databases, roles, topics.

Every step is idempotent: it checks what is there and only does what is missing.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from string import Template

from cloudmart_common import topic_admin
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.settings import local_database_password
from cloudmart_local.layout import (
    CONF_TEMPLATES,
    DATA,
    DATABASES,
    FAULT_FLAGS_DEFAULTS,
    FAULT_FLAGS_FILE,
    FAULT_PROXIES,
    FLINK_METRICS_PORT,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    LOGS,
    OBSERVABILITY,
    PGBIN,
    PGBOUNCER_PORT,
    POSTGRES_PORT,
    PROMETHEUS_PORT,
    REDIS_PORT,
    ROOT,
    RUN,
    SERVICE_PORTS,
    TOOLS,
    VENV_BIN,
    active_profile,
    active_replicas,
    replica_port,
)
from cloudmart_local.secrets import (
    ensure_jwt_signing_key,
    service_clients,
    service_environment,
)


def _as(user: str, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", user, "--", *command],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    )


def _own(user: str, *paths: Path) -> None:
    for path in paths:
        shutil.chown(path, user, user)


def _render(template: str, target: Path, **values: object) -> bool:
    """Write the config from its template; True when it changed."""
    text = Template((CONF_TEMPLATES / template).read_text()).substitute(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and target.read_text() == text:
        return False
    target.write_text(text)
    return True


def directories() -> None:
    for path in (LOGS, RUN, DATA):
        path.mkdir(parents=True, exist_ok=True)
    for name in ("postgres", "redis", "kafka", "mailpit", "localstripe", "prometheus"):
        (DATA / name).mkdir(exist_ok=True)
    for name in ("postgres", "pgbouncer", "redis", "kafka", "prometheus"):
        (RUN / name).mkdir(exist_ok=True)
    (DATA / "postgres").chmod(0o700)  # PostgreSQL refuses a data dir others can read
    _own("postgres", DATA / "postgres", RUN / "postgres", RUN / "pgbouncer")
    _own("redis", DATA / "redis", RUN / "redis")


def postgres_cluster() -> bool:
    """initdb on first run; True when the cluster is new."""
    if (DATA / "postgres" / "PG_VERSION").exists():
        return False
    # Local socket: peer auth (the postgres OS user only); TCP: passwords (SCRAM).
    _as(
        "postgres",
        str(PGBIN / "initdb"),
        "-D",
        str(DATA / "postgres"),
        "-U",
        "postgres",
        "--auth-local=peer",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    return True


# psql quotes the values itself (%I identifiers, %L literals): no SQL is built by hand.
_ROLE_AND_DATABASE = r"""
SELECT format('CREATE ROLE %I LOGIN', :'name')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')\gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'name', :'password')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name')\gexec
"""


def postgres_databases() -> None:
    """One role and one database per service that owns PostgreSQL data."""
    for database in DATABASES:
        _as(
            "postgres",
            "psql",
            "-h",
            str(RUN / "postgres"),
            "-p",
            str(POSTGRES_PORT),
            "-d",
            "postgres",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"name={database}",
            "-v",
            f"password={local_database_password(database)}",
            stdin=_ROLE_AND_DATABASE,
        )


def pgbouncer_config() -> None:
    auth_file = RUN / "pgbouncer" / "userlist.txt"
    # Plain passwords: pgbouncer answers the client's SCRAM and logs in to PostgreSQL with them.
    auth_file.write_text("".join(f'"{db}" "{local_database_password(db)}"\n' for db in DATABASES))
    auth_file.chmod(0o600)
    databases = "\n".join(
        f"{db} = host=127.0.0.1 port={POSTGRES_PORT} dbname={db}" for db in DATABASES
    )
    config = RUN / "pgbouncer" / "pgbouncer.ini"
    _render(
        "pgbouncer.ini",
        config,
        databases=databases,
        pgbouncer_port=PGBOUNCER_PORT,
        auth_file=auth_file,
        pidfile=RUN / "pgbouncer" / "pgbouncer.pid",
        # Warm server connections per database: fewer in the minimal profile, where memory
        # counts more than the first burst's logins (each backend is ~13 MiB of RSS).
        min_pool_size=10 if active_profile() == "full" else 2,
    )
    _own("postgres", auth_file, config)


def redis_config() -> None:
    config = RUN / "redis" / "redis.conf"
    _render("redis.conf", config, redis_port=REDIS_PORT, data_dir=DATA / "redis")
    _own("redis", config)


def kafka_storage() -> None:
    config = RUN / "kafka" / "server.properties"
    _render(
        "kafka.properties",
        config,
        kafka_port=KAFKA_PORT,
        controller_port=KAFKA_CONTROLLER_PORT,
        data_dir=DATA / "kafka",
    )
    if (DATA / "kafka" / "meta.properties").exists():
        return
    java = [
        "java",
        f"-Dlog4j2.configurationFile={ROOT / 'local/kafka/tools-log4j2.properties'}",
        "-cp",
        str(TOOLS / "kafka" / "lib" / "*"),
        "kafka.tools.StorageTool",
    ]
    cluster_id = subprocess.run(
        [*java, "random-uuid"], check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(
        [
            *java,
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(config),
            "--standalone",
            "--ignore-formatted",
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def toxiproxy_config() -> None:
    """The proxies Toxiproxy opens at start: clean pass-throughs until a test adds a toxic."""
    proxies = [
        {
            "name": name,
            "listen": f"127.0.0.1:{listen}",
            "upstream": f"127.0.0.1:{SERVICE_PORTS[upstream]}",
            "enabled": True,
        }
        for name, (listen, upstream) in FAULT_PROXIES.items()
    ]
    path = RUN / "toxiproxy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(proxies, indent=2))


def fault_flags() -> None:
    """The flag file flagd watches, from the committed defaults: every `make up` starts with
    all faults off, whatever a crashed test or a demo left switched on."""
    FAULT_FLAGS_FILE.parent.mkdir(parents=True, exist_ok=True)
    staged = FAULT_FLAGS_FILE.with_suffix(".staged")
    staged.write_text(FAULT_FLAGS_DEFAULTS.read_text())
    staged.replace(FAULT_FLAGS_FILE)  # atomic: flagd never reads half a file


def prometheus_config() -> bool:
    """Prometheus's config (every service replica a target); True when it changed."""
    targets = "\n".join(
        f'      - targets: ["127.0.0.1:{replica_port(name, replica)}"]\n'
        f'        labels: {{service: "{name}"}}'
        for name in SERVICE_PORTS
        # The gateway's replicas share one address: scraping it reaches either one.
        for replica in range(1, (1 if name == "gateway" else active_replicas()) + 1)
    )
    return _render(
        "prometheus.yml",
        RUN / "prometheus" / "prometheus.yml",
        service_targets=targets,
        prometheus_port=PROMETHEUS_PORT,
        flink_metrics_port=FLINK_METRICS_PORT,
        rules_dir=OBSERVABILITY / "rules",
    )


async def kafka_topics() -> list[str]:
    """Create the missing topics of the topology (architecture.md §5), as the cloud's topic Job
    does (cloudmart_common.topic_admin), on one broker; the names created."""
    return await topic_admin.apply(KafkaConnection(f"127.0.0.1:{KAFKA_PORT}"), replication=1)


def _run_as_service(service: str, command: list[str], what: str) -> str:
    """Run a command of a service with that service's environment; its output, or exit."""
    result = subprocess.run(
        command,
        env={**os.environ, **service_environment(service)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip()


def migrations() -> None:
    """`alembic upgrade head` for each service that owns a database (idempotent)."""
    for database in DATABASES:
        alembic_ini = str(ROOT / "services" / database / "alembic.ini")
        _run_as_service(
            database,
            [str(VENV_BIN / "alembic"), "-c", alembic_ini, "upgrade", "head"],
            f"migrations of {database}",
        )


def demo_catalog() -> str:
    """The demo products, when the emulator's table is empty (a fresh data directory)."""
    return _run_as_service(
        "products",
        [str(VENV_BIN / "python"), "-m", "cloudmart_products.demo_catalog"],
        "loading the demo catalog",
    )


def admin_account() -> str:
    """The first admin (CLOUDMART_ADMIN_USERNAME / _PASSWORD; defaults: architecture.md §4)."""
    return _run_as_service(
        "users",
        [str(VENV_BIN / "python"), "-m", "cloudmart_users.bootstrap_admin"],
        "creating the admin account",
    )


def before_start() -> bool:
    """Directories, keys and configs; True when Prometheus's targets changed (a reload)."""
    directories()
    ensure_jwt_signing_key()
    service_clients()
    postgres_cluster()
    pgbouncer_config()
    redis_config()
    kafka_storage()
    targets_changed = prometheus_config()
    toxiproxy_config()
    fault_flags()
    return targets_changed
