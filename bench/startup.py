"""`make up` timed twice: cold (tools installed, no data yet: databases, topics and the demo
catalog are made) and warm (everything kept from the run before).

The cold start runs on a fresh data directory; the one it replaced is put back afterwards, so
what a developer had in the local stack survives the benchmark.
"""

import shutil
import subprocess
import time

from cloudmart_local.layout import DATA, ROOT

SAVED = DATA.with_name("data.bench-saved")


def make(*arguments: str) -> float:
    """Seconds a `make` of the repository took (quiet; its output kept for the error)."""
    started = time.perf_counter()
    subprocess.run(
        ["make", "-s", *arguments], cwd=ROOT, check=True, capture_output=True, timeout=900
    )
    return time.perf_counter() - started


def measure() -> dict[str, float]:
    """Seconds of `make up`, cold then warm; the stack is up (on its old data) afterwards."""
    if SAVED.exists():
        raise SystemExit(f"{SAVED} exists: an earlier benchmark was interrupted; move it back")
    make("down")
    DATA.rename(SAVED)
    try:
        cold = make("up")
        make("down")
    finally:
        if DATA.exists():
            shutil.rmtree(DATA)
        SAVED.rename(DATA)
    warm = make("up")
    return {"make_up_cold_s": round(cold, 1), "make_up_warm_s": round(warm, 1)}
