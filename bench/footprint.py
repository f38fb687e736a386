"""Memory of the running stack: RSS per component (its process and all its children).

    .venv/bin/python -m bench.footprint

RSS counts shared pages once per process (PostgreSQL's shared buffers in every backend), so
the total also gives PSS, which shares them out: the figure closest to what the stack costs.
"""

import time
from dataclasses import dataclass

import psutil

from cloudmart_local import supervisor

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


def render(usages: list[Usage], title: str) -> str:
    lines = [f"{title}", f"  {'component':<16} {'procs':>5} {'RSS MiB':>9} {'PSS MiB':>9}"]
    for usage in usages:
        lines.append(
            f"  {usage.component:<16} {usage.processes:>5} {usage.rss_mib:>9.1f} "
            f"{usage.pss_mib:>9.1f}"
        )
    lines.append(
        f"  {'total':<16} {sum(u.processes for u in usages):>5} "
        f"{sum(u.rss_mib for u in usages):>9.1f} {sum(u.pss_mib for u in usages):>9.1f}"
    )
    return "\n".join(lines)


def main() -> None:
    if not supervisor.is_running():
        raise SystemExit("the stack is down: run `make up` first")
    print(render(snapshot(), "memory of the running stack"))


if __name__ == "__main__":
    main()
