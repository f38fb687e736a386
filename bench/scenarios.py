"""The CloudMart figures: catalog reads at fixed concurrency (hey), checkout in a closed loop,
and the Locust scenarios; each load figure with the CPU it cost the stack (from /proc)."""

import asyncio
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import httpx

from bench.figures import Figure, from_latencies, hey, locust
from bench.footprint import CpuMeter, CpuSample, CpuUse, cpu_sample
from bench.shop import (
    GATEWAY,
    PRODUCTS,
    new_customer,
    order_body,
    payment_method_async,
    stock_products,
)
from cloudmart_local.layout import SERVICE_PORTS

T = TypeVar("T")
PYTHON_SERVICES = tuple(SERVICE_PORTS)  # the seven services: what an order costs in the cloud
HTTP_COMPONENTS = ("gateway", "products")  # the processes a catalog read goes through

PRODUCT_VIA_GATEWAY = "product read via gateway (cached)"
PRODUCT_DIRECT = "product read direct to products (cached)"
LIST_VIA_GATEWAY = "list page of 20 via gateway (cached)"
CHECKOUT_LOOP = "checkout, 20 buyers, no think time"
CHECKOUT_LOCUST = "checkout e2e (Locust)"
STACK = "whole stack"
SEVEN = "7 Python services"


def catalog_reads(concurrency: int = 50, seconds: int = 15) -> list[Figure]:
    """A product read through the gateway and direct, and a list page of 20 through the
    gateway: all served from products' Redis cache, each with the gateway's and products'
    CPU per request."""
    first = _patiently(
        lambda: (
            httpx.get(f"{PRODUCTS}/api/products?limit=1", timeout=10)
            .raise_for_status()
            .json()["items"]
        )
    )
    if not first:
        raise SystemExit("the catalog is empty: `make up` loads the demo catalog")
    product = f"/api/products/{first[0]['id']}"
    return [
        _http_figure(name, url, concurrency=concurrency, seconds=seconds)
        for name, url in (
            (PRODUCT_VIA_GATEWAY, GATEWAY + product),
            (PRODUCT_DIRECT, PRODUCTS + product),
            (LIST_VIA_GATEWAY, f"{GATEWAY}/api/products?limit=20"),
        )
    ]


def _http_figure(name: str, url: str, *, concurrency: int, seconds: int) -> Figure:
    hey("warm", url, concurrency=4, seconds=1)  # connections, caches: not part of the figure
    with CpuMeter() as meter:
        figure = hey(name, url, concurrency=concurrency, seconds=seconds)
    served = figure.requests - figure.errors  # failures cost CPU too: they count against
    figure.cpu_ms = _per_unit(meter.use, served, {c: (c,) for c in HTTP_COMPONENTS})
    return _with_restarts(figure, meter.use)


def _with_restarts(figure: Figure, use: CpuUse) -> Figure:
    """Marks a figure measured while a component was (re)starting (someone else's change on
    the shared stack): its failures and CPU then say little about the code."""
    if use.unsettled:
        figure.note += f"; RESTARTED during or just before: {', '.join(use.unsettled)}"
        figure.extra["restarted"] = list(use.unsettled)
    return figure


def _per_unit(use: CpuUse, units: int, groups: dict[str, tuple[str, ...]]) -> dict[str, float]:
    per_unit = {name: use.per_unit_ms(units, members) for name, members in groups.items()}
    return {name: round(ms, 3) for name, ms in per_unit.items() if ms is not None}


def checkout_cpu(use: CpuUse, orders: int) -> dict[str, float]:
    """ms of CPU per order: the seven services, the whole stack, then each component."""
    every = tuple(use.seconds_by_component)
    busiest = sorted(every, key=lambda name: -use.seconds_by_component[name])
    return _per_unit(
        use, orders, {SEVEN: PYTHON_SERVICES, STACK: every} | {c: (c,) for c in busiest}
    )


def checkout_loop(buyers: int = 20, seconds: int = 60) -> Figure:
    """Orders per second with `buyers` in a closed loop, no think time (issue #24's setting).

    Each buyer is registered and logged in beforehand (argon2 is not part of the figure),
    then loops: a fresh card from localstripe (as the browser makes one), then POST
    /api/orders with a fresh Idempotency-Key, for one unit of a product with plenty of stock.
    The latency is the order's; the card's CPU in localstripe counts in the stack's cost.
    """
    [product] = _patiently(lambda: stock_products(count=1))
    with httpx.Client(base_url=GATEWAY, timeout=60) as http, ThreadPoolExecutor(4) as pool:
        # A few at a time: registration hashes a password, and the users service has 2 cores
        # to share with everything else.
        customers = pool.map(lambda _: _patiently(lambda: new_customer(http)), range(buyers))
        auths = [customer.headers for customer in customers]
    with CpuMeter() as meter:
        latencies, errors, elapsed = asyncio.run(_buy(auths, product, seconds))
    figure = from_latencies(
        CHECKOUT_LOOP, "orders", latencies, elapsed, errors=sum(errors.values())
    )
    figure.cpu_ms = checkout_cpu(meter.use, len(latencies))
    failed = ", ".join(f"{kind} x{count}" for kind, count in errors.most_common())
    figure.note = f"async httpx, {buyers} buyers, {seconds} s, one product" + (
        f"; failed: {failed}" if failed else ""
    )
    figure.extra["errors"] = dict(errors)
    return _with_restarts(figure, meter.use)


def _patiently(setup: Callable[[], T], within_seconds: float = 60) -> T:
    """`setup` retried while a service is down: the stack is shared, and a service restarted
    by someone else's change must not abort the whole benchmark before its load starts."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            return setup()
        except (httpx.TransportError, httpx.HTTPStatusError) as error:
            retriable = isinstance(error, httpx.TransportError) or (
                error.response.status_code >= 500
            )
            if not retriable or time.monotonic() > deadline:
                raise
            time.sleep(1)


async def _buy(
    auths: list[dict[str, str]], product: int, seconds: int
) -> tuple[list[float], Counter[str], float]:
    """Each buyer's loop until the deadline: the orders' latencies, the failures by kind (a
    status code or an exception), and the wall time until the last buyer finished."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=2 * len(auths))
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=GATEWAY, limits=limits, timeout=30) as http:

        async def buyer(auth: dict[str, str]) -> None:
            while time.monotonic() < deadline:
                try:
                    body = order_body([(product, 1)], method=await payment_method_async(http))
                    sent = time.perf_counter()
                    response = await http.post(
                        "/api/orders",
                        json=body,
                        headers=auth | {"Idempotency-Key": uuid.uuid4().hex},
                    )
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    await asyncio.sleep(0.5)  # a restarting service: do not spin on refusals
                    continue
                if response.status_code == 201:
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors[str(response.status_code)] += 1

        await asyncio.gather(*(buyer(auth) for auth in auths))
    return latencies, errors, time.perf_counter() - started


def browsing(users: int, seconds: int) -> Figure:
    return locust("browsing", ["BrowsingUser"], host=GATEWAY, users=users, seconds=seconds)


def checkout(users: int, seconds: int) -> Figure:
    """Orders per second at `users` Locust buyers (each registers and logs in once), with
    the stack's CPU per order over the steady state only: once every buyer has logged in and
    completed an order sent after the last arrival, Locust restarts its statistics and the CPU
    baseline is taken, so the arrivals' password hashing, and the orders queued behind it, are
    in neither."""
    spawn_seconds = 20  # argon2: 100 buyers arriving within seconds would measure hashing
    settle_seconds = 60  # at most, from the end of spawning to the steady state
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(1) as timer:
        arrived = Path(scratch) / "arrived"
        # If some buyer never gets through, the baseline comes when arrivals should be over.
        baseline = timer.submit(_cpu_when, arrived, spawn_seconds + settle_seconds)
        figure = locust(
            CHECKOUT_LOCUST,
            ["CheckoutUser"],
            host=GATEWAY,
            users=users,
            seconds=seconds,
            row="/api/orders",
            unit="orders",
            spawn_seconds=spawn_seconds,
            settle_seconds=settle_seconds,
            environment={
                "CLOUDMART_BENCH_ARRIVALS": str(users),
                "CLOUDMART_BENCH_ARRIVED_FILE": str(arrived),
            },
        )
        use = CpuUse.between(baseline.result(), cpu_sample())
    figure.cpu_ms = checkout_cpu(use, figure.requests - figure.errors)
    return _with_restarts(figure, use)


def _cpu_when(marker: Path, at_most_seconds: float) -> CpuSample:
    deadline = time.monotonic() + at_most_seconds
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return cpu_sample()


def mixed(users: int, seconds: int) -> Figure:
    return locust("mixed traffic", [], host=GATEWAY, users=users, seconds=seconds)
