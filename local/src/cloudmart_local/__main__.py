"""`python -m cloudmart_local up|down|status|logs|clean|start|stop`: the stack commands."""

import argparse
import asyncio
import os
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cloudmart_local import prepare, supervisor
from cloudmart_local.components import Component, all_components, by_name, log_file
from cloudmart_local.layout import (
    DATABASES,
    LEFT_OUT_BY_PROFILE,
    MAX_REPLICAS,
    PROFILE_FILE,
    REPLICAS_FILE,
    ROOT,
    STATE,
    runs,
)

FAILED_STATES = {"FATAL", "EXITED", "BACKOFF", "STOPPED", "UNKNOWN"}


def _line(name: str, outcome: str) -> None:
    print(f"  {name:<16}{outcome}", flush=True)


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log yet)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def _probe_ok(component: Component) -> str | None:
    """None when healthy, else why not."""
    try:
        await asyncio.wait_for(component.probe(), 5)
    except Exception as exc:  # a probe failure of any kind is "not healthy"
        return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__
    return None


async def _wait_healthy(component: Component, started: float) -> str | None:
    deadline = started + component.start_timeout_seconds
    failure: str | None = "not started"
    while time.monotonic() < deadline:
        failure = await _probe_ok(component)
        if failure is None:
            return None
        state = supervisor.rpc().getProcessInfo(component.name)["statename"]
        # BACKOFF is supervisord retrying: give it its retries before calling it failed
        if state in FAILED_STATES - {"BACKOFF"}:
            return f"process {state.lower()}"
        await asyncio.sleep(0.2)
    return f"not healthy after {component.start_timeout_seconds:g} s ({failure})"


async def _start_all(components: Sequence[Component]) -> None:
    """Start what is not running, wait for every probe at once, print each as it turns healthy."""
    info = supervisor.process_info()
    started = time.monotonic()
    already = {
        c.name
        for c in components
        if info[c.name]["statename"] == "RUNNING" and await _probe_ok(c) is None
    }
    for component in components:
        if component.name not in already:
            supervisor.start(component.name)

    async def one(component: Component) -> tuple[Component, str | None]:
        if component.name in already:
            return component, None
        return component, await _wait_healthy(component, started)

    failures = []
    for finished in asyncio.as_completed([one(c) for c in components]):
        component, failure = await finished
        if failure is None:
            outcome = (
                "running"
                if component.name in already
                else (f"started ({time.monotonic() - started:.1f} s)")
            )
            _line(component.name, f"ok  {outcome}")
        else:
            _line(component.name, f"FAILED  {failure}")
            failures.append(component)
    if failures:
        for component in failures:
            print(f"\n{component.name} failed; its log is {log_file(component.name)}:")
            print(_tail(log_file(component.name)))
        names = ", ".join(c.name for c in failures)
        raise SystemExit(f"\nmake up: {names} did not start (logs under {log_file('x').parent})")


def up(profile: str, replicas: int) -> None:
    began = time.monotonic()
    PROFILE_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROFILE_FILE.write_text(profile + "\n")
    REPLICAS_FILE.write_text(f"{replicas}\n")
    components = all_components()
    infrastructure = [c for c in components if not c.is_service and c.name != "pgbouncer"]
    services = [c for c in components if c.is_service]
    print("prepare")
    targets_changed = prepare.before_start()
    _line("supervisord", supervisor.ensure_running(components))
    reload = targets_changed and runs("prometheus")  # replicas came or went: reread targets
    if reload and supervisor.process_info()["prometheus"]["statename"] == "RUNNING":
        supervisor.rpc().signalProcess("prometheus", "HUP")
    print("infrastructure")
    asyncio.run(_start_all(infrastructure))
    prepare.postgres_databases()
    _line("databases", "ok  " + ", ".join(DATABASES))
    asyncio.run(_start_all([by_name("pgbouncer")]))
    prepare.migrations()
    _line("migrations", "ok  " + ", ".join(DATABASES))
    _line("admin account", "ok  " + prepare.admin_account())
    _line("demo catalog", "ok  " + prepare.demo_catalog())
    created = asyncio.run(prepare.kafka_topics())
    _line("kafka topics", "ok  " + (f"created {', '.join(created)}" if created else "present"))
    print("services")
    asyncio.run(_start_all(services))
    print(
        f"\nCloudMart is up, profile {profile}, {replicas} replica(s) of each service "
        f"({time.monotonic() - began:.1f} s). "
        "Logs: make logs S=<name>\n"
    )
    for component in components:
        print(f"  {component.name:<16}{component.url}")
    print("\n  web + API        http://127.0.0.1:5000  (the gateway)")


def status() -> int:
    if not supervisor.is_running():
        print("the stack is down (supervisord is not running); start it with `make up`")
        return 1
    components = all_components()
    info = supervisor.process_info()

    async def probe_all() -> list[str | None]:
        return list(await asyncio.gather(*(_probe_ok(c) for c in components)))

    failures = asyncio.run(probe_all())
    print(f"  {'component':<16}{'process':<10}{'pid':<9}{'uptime':<10}health")
    unhealthy = 0
    for component, failure in zip(components, failures, strict=True):
        process = info[component.name]
        running = process["statename"] == "RUNNING"
        uptime = f"{process['now'] - process['start']}s" if running else "-"
        health = "healthy" if failure is None else f"UNHEALTHY ({failure})"
        unhealthy += failure is not None
        pid = process["pid"] or "-"
        print(f"  {component.name:<16}{process['statename']:<10}{pid!s:<9}{uptime:<10}{health}")
    return 1 if unhealthy else 0


def leftovers() -> list[str]:
    """What of the stack still runs: listening ports and processes started from this checkout."""
    found = []
    for port in sorted(p for c in all_components() for p in c.ports):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                found.append(f"port {port} still accepts connections")
    marker = str(STATE)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command or f"{ROOT}/.venv/bin/uvicorn" in command:
            found.append(f"pid {entry.name}: {command[:120]}")
    return found


def down() -> int:
    print("stopping the stack ...", flush=True)
    if not supervisor.shutdown():
        print("supervisord did not exit in time")
        return 1
    remaining = leftovers()
    for item in remaining:
        print(f"  still running: {item}")
    print("stopped; nothing left running" if not remaining else "stopped with leftovers")
    return 1 if remaining else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="cloudmart_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start_up = commands.add_parser("up", help="start everything, wait until healthy")
    start_up.add_argument("--profile", choices=sorted(LEFT_OUT_BY_PROFILE), default="full")
    start_up.add_argument(
        "--replicas", type=int, choices=range(1, MAX_REPLICAS + 1), default=1, metavar="N"
    )
    commands.add_parser("down", help="stop every process of the stack")
    commands.add_parser("status", help="each process and its health")
    commands.add_parser("clean", help="stop the stack and wipe .cloudmart/")
    for verb in ("logs", "start", "stop"):
        commands.add_parser(verb, help=f"{verb} one component").add_argument("name")
    args = parser.parse_args()
    if args.command == "up":
        up(args.profile, args.replicas)
    elif args.command == "down":
        sys.exit(down())
    elif args.command == "status":
        sys.exit(status())
    elif args.command == "clean":
        code = down()
        shutil.rmtree(STATE, ignore_errors=True)
        print(f"removed {STATE}")
        sys.exit(code)
    elif args.command == "logs":
        os.execvp(  # noqa: S606 - replaces this process with tail, no shell involved
            "tail", ["tail", "-n", "200", "-F", str(log_file(by_name(args.name).name))]
        )
    elif args.command in ("start", "stop") and not supervisor.is_running():
        sys.exit("the stack is down (supervisord is not running): run `make up` first")
    elif args.command == "start":
        asyncio.run(_start_all([by_name(args.name)]))
    elif args.command == "stop":
        supervisor.stop(by_name(args.name).name)


if __name__ == "__main__":
    main()
