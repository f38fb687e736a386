"""Memory of the running stack per component (its process and all its children), against
the budgets of docs/benchmarks.md "Footprint".

    .venv/bin/python -m bench.footprint              # the running stack, as it is
    .venv/bin/python -m bench.footprint --profiles   # make up PROFILE=minimal, then full

RSS counts a shared page once per process that maps it: PostgreSQL's shared buffers appear in
every backend (about 1 GiB of summed RSS for some 130 MiB in use). The budgets are therefore
checked on PSS, which divides each shared page among its sharers, so the total is what the
stack costs the machine; summed RSS is printed beside it.
"""

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

from bench.startup import make
from cloudmart_local import supervisor
from cloudmart_local.layout import SERVICE_PORTS, active_profile

# MiB of PSS per component, idle (docs/benchmarks.md, "Footprint"); totals: issue #15's targets.
BUDGETS_MIB: dict[str, int] = {
    "postgres": 250,  # the server and every backend together
    "kafka": 450,  # heap 256 MiB + metaspace, code cache, threads
    "analytics": 450,
    "prometheus": 200,
    "dynamodb": 150,
    "catalog-import": 150,
    "localstripe": 100,  # keeps every object it was sent (state.pickle) in memory
    "flagd": 60,
    "mailpit": 60,
    "redis": 40,
    "toxiproxy": 30,
    "supervisord": 30,
    "pgbouncer": 20,
} | dict.fromkeys(SERVICE_PORTS, 150)
TOTAL_BUDGETS_MIB = {"full": 3 * 1024, "minimal": 1536}
SETTLE_SECONDS = 30  # after `make up`: first requests, caches, Flink's restore

MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    component: str
    processes: int
    rss_mib: float
    pss_mib: float


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def snapshot() -> list[Usage]:
    """Every running component's memory, largest first; supervisord itself included."""
    pids = {
        name: info["pid"]
        for name, info in supervisor.process_info().items()
        if info["statename"] == "RUNNING"
    }
    pids["supervisord"] = int(supervisor.PIDFILE.read_text())
    usages = []
    for name, pid in pids.items():
        rss = pss = 0
        processes = 0
        for process in _tree(pid) if name != "supervisord" else [psutil.Process(pid)]:
            try:
                memory = process.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += memory.rss
            pss += memory.pss
            processes += 1
        usages.append(Usage(name, processes, round(rss / MIB, 1), round(pss / MIB, 1)))
    return sorted(usages, key=lambda usage: -usage.rss_mib)


SETTLE_AFTER_START_SECONDS = 30  # a JVM or a service warming up costs more than it serves


@dataclass(frozen=True)
class CpuSample:
    """Each component's CPU seconds so far, the process ids they were read from, how long
    each has been running, and when."""

    seconds: dict[str, float]
    pids: dict[str, int]
    at: float  # time.monotonic()
    uptime: dict[str, float] = field(default_factory=dict)


def cpu_sample() -> CpuSample:
    """CPU time (user + system) each running component's process tree has used so far.

    Includes the time of children that exited and were reaped (cutime + cstime), so a
    PostgreSQL backend or a worker that ends during a measurement still counts; supervisord
    is a component too (it relays every program's output). The benchmark's own load
    generators are not supervisord's children and never appear here.
    """
    running = {
        name: info
        for name, info in supervisor.process_info().items()
        if info["statename"] == "RUNNING"
    }
    pids = {name: info["pid"] for name, info in running.items()}
    seconds = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    pids["supervisord"] = int(supervisor.PIDFILE.read_text())
    # Its reaped children are the components themselves (a restarted service's whole life
    # lands in supervisord's cutime): counted already, so its own time only.
    seconds["supervisord"] = process_cpu_seconds(pids["supervisord"], reaped_children=False)
    uptime = {name: float(info["now"] - info["start"]) for name, info in running.items()}
    return CpuSample(seconds, pids, time.monotonic(), uptime)


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and every descendant, with their reaped children's."""
    return sum(process_cpu_seconds(process.pid) for process in _tree(pid))


def process_cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """One process's utime + stime, with its reaped children's cutime + cstime unless told
    otherwise (0 if it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    own = times.user + times.system
    return own + (times.children_user + times.children_system if reaped_children else 0.0)


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds each component used over a measured interval, that interval, and which
    components were unsettled: restarted meanwhile or just before (on a shared stack, by
    someone else's change), so that their figures include a start-up or miss the old
    process's last moments."""

    seconds_by_component: dict[str, float]
    wall_seconds: float
    unsettled: tuple[str, ...] = ()

    def per_unit_ms(self, units: int, components: Iterable[str]) -> float | None:
        """Milliseconds of CPU per unit of work (request, order) of these components."""
        if units <= 0:
            return None
        return 1000 * sum(self.seconds_by_component.get(c, 0.0) for c in components) / units

    @classmethod
    def between(cls, before: CpuSample, after: CpuSample) -> "CpuUse":
        # A component whose process changed (or that was not running at first) is measured
        # from its new process's start: all its time is new.
        restarted = {name for name, pid in after.pids.items() if before.pids.get(name) != pid}
        warming = {
            name for name, uptime in before.uptime.items() if uptime < SETTLE_AFTER_START_SECONDS
        }
        return cls(
            {
                name: spent if name in restarted else max(0.0, spent - before.seconds[name])
                for name, spent in after.seconds.items()
            },
            after.at - before.at,
            tuple(sorted(restarted | warming)),
        )


class CpuMeter:
    """`with CpuMeter() as meter: <load>`; then `meter.use` is each component's CPU over it."""

    def __enter__(self) -> "CpuMeter":
        self._before = cpu_sample()
        return self

    def __exit__(self, *_: object) -> None:
        self.use = CpuUse.between(self._before, cpu_sample())


def peak_during(seconds: float, every: float = 2.0) -> list[Usage]:
    """The snapshot with the largest total RSS among those taken over `seconds`."""
    peak: list[Usage] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = snapshot()
        if sum(u.rss_mib for u in current) > sum(u.rss_mib for u in peak):
            peak = current
        time.sleep(every)
    return peak


def over_budget(usages: list[Usage], profile: str) -> list[str]:
    """What exceeds its budget: components, then the profile's total."""
    over = [
        f"{u.component}: {u.pss_mib:.0f} MiB PSS > {BUDGETS_MIB[u.component]} MiB"
        for u in usages
        if u.component in BUDGETS_MIB and u.pss_mib > BUDGETS_MIB[u.component]
    ]
    total = sum(u.pss_mib for u in usages)
    if total > TOTAL_BUDGETS_MIB[profile]:
        over.append(f"total: {total:.0f} MiB PSS > {TOTAL_BUDGETS_MIB[profile]} MiB")
    return over


def render(usages: list[Usage], title: str, profile: str = "full") -> str:
    header = f"  {'component':<16} {'procs':>5} {'RSS MiB':>9} {'PSS MiB':>9} {'budget':>7}"
    lines = [title, header]
    for usage in usages:
        budget = BUDGETS_MIB.get(usage.component)
        lines.append(
            f"  {usage.component:<16} {usage.processes:>5} {usage.rss_mib:>9.1f} "
            f"{usage.pss_mib:>9.1f} {budget if budget else '-':>7}"
        )
    lines.append(
        f"  {'total':<16} {sum(u.processes for u in usages):>5} "
        f"{sum(u.rss_mib for u in usages):>9.1f} {sum(u.pss_mib for u in usages):>9.1f} "
        f"{TOTAL_BUDGETS_MIB[profile]:>7}"
    )
    return "\n".join(lines)


def profile_snapshot(profile: str) -> list[Usage]:
    """A fresh `make up PROFILE=<profile>` (after `make down`: no residue of earlier load in
    pools, caches or heaps), settle, then measure."""
    make("down")
    make("up", f"PROFILE={profile}")
    time.sleep(SETTLE_SECONDS)
    return snapshot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", action="store_true", help="measure minimal, then full")
    profiles = parser.parse_args().profiles
    if not profiles and not supervisor.is_running():
        raise SystemExit("the stack is down: run `make up` first")
    over: list[str] = []
    for profile in ("minimal", "full") if profiles else (None,):
        usages = profile_snapshot(profile) if profile else snapshot()
        name = profile or active_profile()
        print(render(usages, f"memory of the running stack, profile {name}, idle", name))
        print()
        over += [f"{name}: {line}" for line in over_budget(usages, name)]
    print("over budget:\n  " + "\n  ".join(over) if over else "every component within budget")
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
