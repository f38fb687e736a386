"""Where the local stack keeps things, and the ports it listens on (overridable by env)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEB_DIST = ROOT / "web" / "dist"  # the built web UI (local/install.sh), served by the gateway
STATE = ROOT / ".cloudmart"  # git-ignored; `make clean` wipes it
TOOLS = STATE / "tools"  # installed by local/install.sh
DATA = STATE / "data"  # what survives `make down` / `make up`
LOGS = STATE / "logs"
TRACES = STATE / "traces"  # spans as JSON lines, one file per service (TRACE_FILE)
RUN = STATE / "run"  # sockets, pid files, generated configs (rewritten on every `make up`)
SECRETS = STATE / "secrets"
CONF_TEMPLATES = ROOT / "local" / "conf"
OBSERVABILITY = ROOT / "deploy" / "observability"  # alert rules, dashboards (also deployed)
VENV_BIN = ROOT / ".venv" / "bin"
PGBIN = Path("/usr/lib/postgresql/15/bin")


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"CLOUDMART_{name}_PORT", default))


POSTGRES_PORT = _port("POSTGRES", 15432)
PGBOUNCER_PORT = _port("PGBOUNCER", 16432)
REDIS_PORT = _port("REDIS", 16379)
KAFKA_PORT = _port("KAFKA", 19092)
KAFKA_CONTROLLER_PORT = _port("KAFKA_CONTROLLER", 19093)
DYNAMODB_PORT = _port("DYNAMODB", 18000)
LOCALSTRIPE_PORT = _port("LOCALSTRIPE", 18420)
SMTP_PORT = _port("SMTP", 11025)
MAILPIT_PORT = _port("MAILPIT", 18025)
PROMETHEUS_PORT = _port("PROMETHEUS", 19090)
FLINK_UI_PORT = _port("FLINK_UI", 18081)
FLINK_METRICS_PORT = _port("FLINK_METRICS", 19249)
TOXIPROXY_PORT = _port("TOXIPROXY", 18474)  # its API; the proxies listen on the ports below
# flagd: 18013 its evaluation API (a real flagd only), 18015 its sync API, which the services'
# in-process provider reads. The stand-in (local/flagd/flagd_sync.py) serves the sync API only.
FLAGD_PORT = _port("FLAGD", 18013)
FLAGD_SYNC_PORT = _port("FLAGD_SYNC", 18015)
FLAGD_BINARY = TOOLS / "bin" / "flagd"  # built by local/install.sh where the proxy serves it
FAULT_FLAGS_DEFAULTS = ROOT / "deploy" / "flags" / "faults.flagd.json"  # committed: all off
FAULT_FLAGS_FILE = RUN / "flagd" / "faults.flagd.json"  # the watched copy; reset by `make up`
# Edges of the saga that run through Toxiproxy, so fault tests can add latency or cut them:
# name -> (listen port, upstream service).
FAULT_PROXIES = {
    "orders-products": (15102, "products"),
    "orders-payments": (15105, "payments"),
}
# `make up PROFILE=minimal`: the same platform without what only observes or injects faults
# (docs/benchmarks.md, "Footprint"). The profile of the last `make up` is kept in RUN, so
# status, start and stop see the same components.
PROFILE_FILE = RUN / "profile"
LEFT_OUT_BY_PROFILE: dict[str, frozenset[str]] = {
    "full": frozenset(),
    "minimal": frozenset({"analytics", "prometheus", "toxiproxy", "flagd", "catalog-import"}),
}


def active_profile() -> str:
    stored = PROFILE_FILE.read_text().strip() if PROFILE_FILE.exists() else "full"
    return stored if stored in LEFT_OUT_BY_PROFILE else "full"


def runs(component: str) -> bool:
    """Whether the active profile runs this component."""
    return component not in LEFT_OUT_BY_PROFILE[active_profile()]


# `make up REPLICAS=2`: that many processes of each Python service, kept in RUN like the
# profile. A backend's replica n listens on its port + 100 (n - 1) and the gateway spreads
# over all of them (its upstream pools); the gateway's replicas share port 5000
# (SO_REUSEPORT: the kernel spreads connections, as the load balancer does in the cloud).
# Replica n of a service calls replica n of the others, as one pod calls a Service.
REPLICAS_FILE = RUN / "replicas"
MAX_REPLICAS = 3
REPLICA_PORT_STEP = 100


def active_replicas() -> int:
    stored = REPLICAS_FILE.read_text().strip() if REPLICAS_FILE.exists() else "1"
    return int(stored) if stored.isdigit() and 1 <= int(stored) <= MAX_REPLICAS else 1


def replica_name(service: str, replica: int) -> str:
    """`orders` for the first replica (the name every tool knows), then `orders-2`, ..."""
    return service if replica == 1 else f"{service}-{replica}"


def replica_port(service: str, replica: int) -> int:
    if service == "gateway":
        return SERVICE_PORTS[service]
    return SERVICE_PORTS[service] + REPLICA_PORT_STEP * (replica - 1)


def replica_urls(service: str) -> list[str]:
    """Every replica's base URL, the first replica first."""
    ports = dict.fromkeys(replica_port(service, n) for n in range(1, active_replicas() + 1))
    return [f"http://127.0.0.1:{port}" for port in ports]


# architecture.md §4: 300 s as designed; tests and demos shorten it.
ANALYTICS_WINDOW_SECONDS = int(os.environ.get("ANALYTICS_WINDOW_SECONDS", "300"))

SERVICE_PORTS = {
    "gateway": 5000,
    "users": 5001,
    "products": 5002,
    "orders": 5003,
    "notifications": 5004,
    "payments": 5005,
    "dashboard": 5006,
}
DATABASES = ("users", "orders", "payments")  # one per service that owns PostgreSQL data
