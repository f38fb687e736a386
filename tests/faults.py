"""Fault tests' tools: Toxiproxy toxics, steady checkout load, and the figures they report."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from cloudmart_local.layout import ROOT, TOXIPROXY_PORT
from tests.accounts import Account
from tests.figures import record
from tests.shop import order_body, place
from tests.stack_control import service_url, stopped

TOXIPROXY = f"http://127.0.0.1:{TOXIPROXY_PORT}"
FIGURES_FILE = ROOT / "artifacts" / "resilience.json"


def report(fault: str, **figures: object) -> None:
    """Record a fault test's figures: printed in the session summary, saved for the docs table."""
    record("resilience figures", f"{fault}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.exists() else {}
    FIGURES_FILE.write_text(json.dumps(saved | {fault: figures}, indent=2, default=str))


@contextmanager
def toxic(proxy: str, kind: str, stream: str = "upstream", **attributes: object) -> Iterator[None]:
    """A Toxiproxy toxic (latency, timeout, ...) on one proxied edge for the body of the `with`."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{TOXIPROXY}/proxies/{proxy}/toxics",
        json={"name": name, "type": kind, "stream": stream, "attributes": attributes},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    try:
        yield
    finally:
        httpx.delete(f"{TOXIPROXY}/proxies/{proxy}/toxics/{name}", timeout=5)


@dataclass
class Attempt:
    started: float  # seconds since the load began
    seconds: float
    status: int  # 0: no answer (transport error)
    order_id: int | None
    buyer: Account
    problem: dict[str, Any] = field(default_factory=dict)
    tries: int = 1  # more than one: retried with the same Idempotency-Key


# What a client retries with the same key: no answer, the gateway's or a service's "try again",
# and the key still claimed by an attempt that a crash interrupted.
RETRIED = {0, 502, 503, 504}


def steady_checkouts(
    buyers: list[Account],
    product_id: int,
    *,
    per_second: float,
    seconds: float,
    retry_for: float = 0.0,
) -> list[Attempt]:
    """Place orders through the gateway at a steady rate (one thread per order in flight),
    buyers taken in turn; every attempt, answered or not, is returned. With `retry_for`, an
    order is retried with its key, as a client would, until a final answer or that long."""
    attempts: list[Attempt] = []
    lock = threading.Lock()
    began = time.monotonic()

    def one(index: int) -> None:
        buyer = buyers[index % len(buyers)]
        start = time.monotonic()
        body, key = order_body([(product_id, 1)]), uuid.uuid4().hex
        tries = 0
        while True:
            tries += 1
            status, order_id, problem = 0, None, {}
            try:
                with httpx.Client(base_url=service_url("gateway"), timeout=60) as http:
                    response = place(http, buyer, body, key)
                status = response.status_code
                answer = response.json()
                if status == 201:
                    order_id = answer["id"]
                else:
                    problem = answer
            except (httpx.HTTPError, ValueError):
                pass
            in_progress = problem.get("type", "").endswith("/idempotency-in-progress")
            retry = status in RETRIED or in_progress
            if not retry or time.monotonic() - start + 1 > retry_for:
                break
            time.sleep(1)
        with lock:
            attempts.append(
                Attempt(
                    start - began,
                    time.monotonic() - start,
                    status,
                    order_id,
                    buyer,
                    problem,
                    tries,
                )
            )

    threads = []
    for index in range(int(per_second * seconds)):
        due = began + index / per_second
        time.sleep(max(0.0, due - time.monotonic()))
        thread = threading.Thread(target=one, args=(index,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=120)
    return sorted(attempts, key=lambda attempt: attempt.started)


def checkouts_while_stopped(
    component: str,
    buyers: list[Account],
    product_id: int,
    *,
    per_second: float,
    seconds: float,
    stop_after: float,
    stopped_for: float,
) -> tuple[list[Attempt], float]:
    """Steady checkouts for `seconds`; `component` stopped `stop_after` seconds in, for
    `stopped_for` seconds. Every attempt, and how long the component was really away."""
    attempts: list[Attempt] = []
    load = threading.Thread(
        target=lambda: attempts.extend(
            steady_checkouts(buyers, product_id, per_second=per_second, seconds=seconds)
        )
    )
    load.start()
    time.sleep(stop_after)
    began = time.monotonic()
    with stopped(component):
        time.sleep(stopped_for)
    outage = time.monotonic() - began
    load.join()
    return attempts, outage
