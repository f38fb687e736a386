"""Every component of the local stack: how supervisord runs it and how we know it is healthy."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cloudmart_local import probes
from cloudmart_local.layout import (
    ANALYTICS_WINDOW_SECONDS,
    DATA,
    DYNAMODB_PORT,
    FAULT_FLAGS_FILE,
    FAULT_PROXIES,
    FLAGD_BINARY,
    FLAGD_PORT,
    FLAGD_SYNC_PORT,
    FLINK_METRICS_PORT,
    FLINK_UI_PORT,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    LOCALSTRIPE_PORT,
    LOGS,
    MAILPIT_PORT,
    PGBIN,
    PGBOUNCER_PORT,
    POSTGRES_PORT,
    PROMETHEUS_PORT,
    REDIS_PORT,
    ROOT,
    RUN,
    SERVICE_PORTS,
    SMTP_PORT,
    TOOLS,
    TOXIPROXY_PORT,
    VENV_BIN,
    active_replicas,
    replica_name,
    replica_port,
    runs,
)
from cloudmart_local.secrets import service_environment


@dataclass(frozen=True)
class Component:
    name: str
    command: list[str]
    probe: Callable[[], Awaitable[None]]
    url: str
    ports: tuple[int, ...]
    user: str = "root"
    directory: Path = ROOT
    environment: dict[str, str] = field(default_factory=dict)
    stop_signal: str = "TERM"
    stop_wait_seconds: int = 15
    start_timeout_seconds: float = 45.0
    is_service: bool = False


def _infrastructure() -> list[Component]:
    return [
        Component(
            name="postgres",
            command=[
                str(PGBIN / "postgres"),
                "-D",
                str(DATA / "postgres"),
                "-p",
                str(POSTGRES_PORT),
                "-k",
                str(RUN / "postgres"),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ],
            probe=probes.postgres,
            url=f"postgresql://127.0.0.1:{POSTGRES_PORT}",
            ports=(POSTGRES_PORT,),
            user="postgres",
            stop_signal="INT",  # fast shutdown: roll back open transactions, then exit
            stop_wait_seconds=30,
        ),
        Component(
            name="pgbouncer",
            command=["/usr/sbin/pgbouncer", str(RUN / "pgbouncer" / "pgbouncer.ini")],
            probe=probes.pgbouncer,
            url=f"postgresql://127.0.0.1:{PGBOUNCER_PORT}/{{users,orders,payments}}",
            ports=(PGBOUNCER_PORT,),
            user="postgres",
            stop_signal="INT",  # safe shutdown
        ),
        Component(
            name="redis",
            command=["/usr/bin/redis-server", str(RUN / "redis" / "redis.conf")],
            probe=probes.redis,
            url=f"redis://127.0.0.1:{REDIS_PORT}",
            ports=(REDIS_PORT,),
            user="redis",
        ),
        Component(
            name="kafka",
            command=[
                "java",
                # Heap capped (budgets: docs/benchmarks.md, "Footprint"): a laptop broker's few
                # topics live in the page cache, not the heap.
                "-Xms64m",
                "-Xmx256m",
                # With a heap this small the serial collector's pauses stay short, and it has
                # none of G1's per-region bookkeeping to keep in memory.
                "-XX:+UseSerialGC",
                # The client compiler only. C2 spent 20-40 s of CPU compiling the broker in its
                # first ~10 minutes after every start (more than the requests it served in that
                # time); C1 alone compiles it in ~3 s, and the broker's requests cost the same
                # per order from ~10 minutes on (measured: 4.5 ms per checkout order either way).
                "-XX:TieredStopAtLevel=1",
                "-XX:ReservedCodeCacheSize=64m",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={ROOT / 'local' / 'kafka' / 'log4j2.properties'}",
                "-cp",
                str(TOOLS / "kafka" / "lib" / "*"),  # the JVM expands the wildcard
                "kafka.Kafka",
                str(RUN / "kafka" / "server.properties"),
            ],
            probe=probes.kafka,
            url=f"127.0.0.1:{KAFKA_PORT}",
            ports=(KAFKA_PORT, KAFKA_CONTROLLER_PORT),
            stop_wait_seconds=30,
            start_timeout_seconds=90.0,
        ),
        Component(
            name="dynamodb",
            command=[
                str(TOOLS / "venvs" / "moto" / "bin" / "python"),
                str(ROOT / "local" / "dynamodb" / "emulator.py"),
                "127.0.0.1",
                str(DYNAMODB_PORT),
                str(DATA / "dynamodb"),  # journal and snapshot: acknowledged writes survive
                str(ROOT / "services/products/src/cloudmart_products/table_schema.json"),
                str(
                    ROOT / "services/products/src/cloudmart_products/reservations_table_schema.json"
                ),
            ],
            probe=probes.dynamodb,
            url=f"http://127.0.0.1:{DYNAMODB_PORT}",
            ports=(DYNAMODB_PORT,),
        ),
        Component(
            name="localstripe",
            command=[
                str(TOOLS / "venvs" / "localstripe" / "bin" / "python"),
                str(ROOT / "local" / "stripe" / "localstripe_server.py"),
                "127.0.0.1",
                str(LOCALSTRIPE_PORT),
                str(DATA / "localstripe" / "state.pickle"),
            ],
            probe=probes.localstripe,
            url=f"http://127.0.0.1:{LOCALSTRIPE_PORT}",
            ports=(LOCALSTRIPE_PORT,),
        ),
        Component(
            name="mailpit",
            command=[
                str(TOOLS / "bin" / "mailpit"),
                "--smtp",
                f"127.0.0.1:{SMTP_PORT}",
                "--listen",
                f"127.0.0.1:{MAILPIT_PORT}",
                "--database",
                str(DATA / "mailpit" / "mailpit.db"),
                "--max",
                "0",  # keep every message (the default prunes to the newest 500)
                "--disable-version-check",
                # Like most mailboxes, drop a repeat of a Message-ID: a notification resent
                # after a crash between "SMTP accepted" and "marked sent" lands once (ADR 0010).
                "--ignore-duplicate-ids",
            ],
            probe=probes.mailpit,
            url=f"http://127.0.0.1:{MAILPIT_PORT} (SMTP 127.0.0.1:{SMTP_PORT})",
            ports=(MAILPIT_PORT, SMTP_PORT),
        ),
        Component(
            name="prometheus",
            command=[
                "/usr/bin/prometheus",
                f"--config.file={RUN / 'prometheus' / 'prometheus.yml'}",
                f"--storage.tsdb.path={DATA / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                "--storage.tsdb.retention.time=7d",
            ],
            probe=probes.prometheus,
            url=f"http://127.0.0.1:{PROMETHEUS_PORT}",
            ports=(PROMETHEUS_PORT,),
        ),
        Component(
            name="toxiproxy",
            command=[
                str(TOOLS / "bin" / "toxiproxy-server"),
                "-host",
                "127.0.0.1",
                "-port",
                str(TOXIPROXY_PORT),
                "-config",
                str(RUN / "toxiproxy.json"),
            ],
            probe=probes.toxiproxy,
            url=f"http://127.0.0.1:{TOXIPROXY_PORT} (fault injection API)",
            ports=(TOXIPROXY_PORT, *(listen for listen, _ in FAULT_PROXIES.values())),
        ),
        _flagd(),
    ]


def _flagd() -> Component:
    """flagd serving the fault flags (ADR 0020): the real one where it could be built."""
    if FLAGD_BINARY.exists():
        command = [
            str(FLAGD_BINARY),
            "start",
            "--port",
            str(FLAGD_PORT),
            "--sync-port",
            str(FLAGD_SYNC_PORT),
            "--uri",
            f"file:{FAULT_FLAGS_FILE}",
        ]
        ports: tuple[int, ...] = (FLAGD_PORT, FLAGD_SYNC_PORT)
    else:
        command = [
            str(VENV_BIN / "python"),
            str(ROOT / "local" / "flagd" / "flagd_sync.py"),
            "127.0.0.1",
            str(FLAGD_SYNC_PORT),
            str(FAULT_FLAGS_FILE),
        ]
        ports = (FLAGD_SYNC_PORT,)
    return Component(
        name="flagd",
        command=command,
        probe=probes.flagd,
        url=f"grpc://127.0.0.1:{FLAGD_SYNC_PORT} (fault flags: {FAULT_FLAGS_FILE})",
        ports=ports,
    )


KEEP_ALIVE_SECONDS = 75


def _service(name: str, replica: int) -> Component:
    port = replica_port(name, replica)
    uvicorn = [
        str(VENV_BIN / "uvicorn"),
        "--factory",
        f"cloudmart_{name}.app:create_app",
        "--no-access-log",
        "--no-server-header",  # what we run on is nobody's business
        "--timeout-graceful-shutdown",
        "10",
        # Longer than any client keeps an idle connection (the gateway's pool 30 s, an
        # ALB 60 s): a server closing first races the client's next request on it, and
        # that request (a POST included) fails unanswered.
        "--timeout-keep-alive",
        str(KEEP_ALIVE_SECONDS),
    ]
    if name == "gateway":  # every replica on the shop's one address (layout.REPLICAS_FILE)
        command = [str(VENV_BIN / "python"), "-m", "cloudmart_local.shared_port", str(port)]
        command += uvicorn
    else:
        command = [*uvicorn, "--host", "127.0.0.1", "--port", str(port)]
    return Component(
        name=replica_name(name, replica),
        command=command,
        probe=probes.service(port),
        url=f"http://127.0.0.1:{port}",
        ports=(port,),
        environment=service_environment(name, replica),
        is_service=True,
    )


def _services() -> list[Component]:
    return [
        _service(name, replica)
        for name in SERVICE_PORTS
        for replica in range(1, active_replicas() + 1)
    ]


def _functions() -> list[Component]:
    return [
        Component(
            name="catalog-import",
            command=[str(VENV_BIN / "python"), "-m", "cloudmart_products.catalog_import.poller"],
            probe=probes.catalog_import,
            url=f"s3://catalog-imports/incoming/ (on http://127.0.0.1:{DYNAMODB_PORT})",
            ports=(),
            environment=service_environment("products"),
            is_service=True,
        )
    ]


def _jobs() -> list[Component]:
    flink = DATA / "flink"
    return [
        Component(
            name="analytics",
            command=[
                "java",
                "-Xms128m",
                "-Xmx512m",
                f"-Djava.io.tmpdir={flink / 'tmp'}",  # MiniCluster leaves jars behind otherwise
                # The two Pekko actor systems' timer wheels tick every 10 ms by default, 100
                # wake-ups a second each, idle or not; what they time (RPC timeouts, heartbeats
                # every 10 s) is fine 100 ms late.
                "-Dpekko.scheduler.tick-duration=100ms",
                # The client compiler only: a few dozen events a second need no C2 code, and C2
                # compiling Flink's runtime took ~38 s of CPU in the first 10 minutes after each
                # start (C1 alone: ~2 s), most of the job's CPU per order in that time. The
                # throughput benchmark (bench/flink_throughput.py) runs its own JVM with C2.
                "-XX:TieredStopAtLevel=1",
                "-jar",
                str(TOOLS / "analytics" / "order-analytics.jar"),
                "--bootstrap",
                f"127.0.0.1:{KAFKA_PORT}",
                "--window-seconds",
                str(ANALYTICS_WINDOW_SECONDS),
                # A laptop's shorter delays: results reach the dashboard seconds after a window.
                "--checkpoint-ms",
                "10000",
                "--idle-seconds",
                "5",
                "--out-of-orderness-seconds",
                "5",
                "--parallelism",
                "2",
                "--checkpoint-dir",
                str(flink / "checkpoints"),
                "--resume-latest",
                "true",
                "--lake-dir",
                str(DATA / "lake"),
                "--web-ui-port",
                str(FLINK_UI_PORT),
                "--metrics-port",
                str(FLINK_METRICS_PORT),
                # A few orders a second, windows of minutes: the source fetches at most once a
                # second per reader (not once per event), outputs are flushed and watermarks
                # emitted once a second (each wakes the tasks, loaded or idle). The job's
                # defaults (Flink's and Kafka's) stay for the cloud and the throughput bench.
                "--fetch-max-wait-ms",
                "1000",
                "--fetch-min-bytes",
                "1048576",
                "--buffer-timeout-ms",
                "1000",
                "--watermark-interval-ms",
                "1000",
            ],
            probe=probes.flink_job,
            url=f"http://127.0.0.1:{FLINK_UI_PORT} (Flink UI)",
            ports=(FLINK_UI_PORT, FLINK_METRICS_PORT),
            stop_wait_seconds=20,
            start_timeout_seconds=90.0,
        )
    ]


def all_components() -> list[Component]:
    """The components of the active profile (`make up PROFILE=...`), in start order."""
    everything = _infrastructure() + _services() + _functions() + _jobs()
    return [component for component in everything if runs(component.name)]


def by_name(name: str) -> Component:
    for component in all_components():
        if component.name == name:
            return component
    known = ", ".join(c.name for c in all_components())
    raise SystemExit(f"unknown component {name!r}; known: {known}")


def log_file(name: str) -> Path:
    return LOGS / f"{name}.log"
