"""What the gateway adds: one product read, direct and through the gateway, 100 concurrent clients.

    .venv/bin/python -m bench.gateway_overhead [--clients 100] [--requests 20]

Prints p50/p95/p99 of both paths and the difference; writes bench/results/gateway_overhead.json.
Runs against the local stack (`make up`), loopback only, and stops by itself.
"""

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.figures import percentile
from bench.shop import PRODUCTS

GATEWAY = "http://127.0.0.1:5000"
RESULTS = Path(__file__).parent / "results"


async def _measure(base: str, path: str, clients: int, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await http.get(path)  # warm: connection, cache

        async def client() -> None:
            for _ in range(requests):
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "errors": errors,
    }


async def main(clients: int, requests: int) -> None:
    async with httpx.AsyncClient() as http:
        listing = (await http.get(f"{PRODUCTS}/api/products?limit=1")).json()["items"]
    if not listing:
        raise SystemExit("the catalog is empty: run `make up` (it loads the demo catalog)")
    path = f"/api/products/{listing[0]['id']}"
    direct = await _measure(PRODUCTS, path, clients, requests)
    through = await _measure(GATEWAY, path, clients, requests)
    added = {
        f"added_{name}": round(through[name] - direct[name], 2)
        for name in ("p50_ms", "p95_ms", "p99_ms")
    }
    print(f"GET {path}, {clients} concurrent clients x {requests} requests")
    print(f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for label, row in (("direct", direct), ("gateway", through)):
        print(
            f"{label:10} {row['throughput_rps']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['p99_ms']:>8}  errors: {row['errors'] or 'none'}"
        )
    print(
        f"{'added':10} {'':>8} {added['added_p50_ms']:>8} {added['added_p95_ms']:>8} "
        f"{added['added_p99_ms']:>8}"
    )
    RESULTS.mkdir(exist_ok=True)
    report = {"clients": clients, "direct": direct, "gateway": through, **added}
    (RESULTS / "gateway_overhead.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20, help="per client")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.clients, arguments.requests))
