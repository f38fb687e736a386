"""How long the local DynamoDB takes to come back with a catalog of 100,000 products.

    .venv/bin/python -m bench.dynamodb_restart [--items 100000]

Starts a scratch emulator (the stack's own script and venv, its own port and data directory),
loads the products in batches of 25, SIGKILLs it and times the restart until it answers: the
snapshot load plus the journal written since (ADR 0023). Then once more, from the snapshot the
first restart wrote. Writes bench/results/dynamodb_restart.json.
"""

import argparse
import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure
from cloudmart_local.layout import ROOT, TOOLS
from cloudmart_local.probes import dynamodb_client

NAME = "DynamoDB emulator restart after kill -9"
PORT = 18977
RESULTS = Path(__file__).parent / "results"
SCHEMA = ROOT / "services/products/src/cloudmart_products/table_schema.json"


def _start(data: Path) -> tuple[subprocess.Popen[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [
            str(TOOLS / "venvs" / "moto" / "bin" / "python"),
            str(ROOT / "local" / "dynamodb" / "emulator.py"),
            "127.0.0.1",
            str(PORT),
            str(data),
            str(SCHEMA),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("DynamoDB emulator"):
            return process, time.monotonic() - started
    raise RuntimeError(f"the emulator exited with {process.wait()}")


def _product(n: int) -> dict[str, Any]:
    return {
        "id": {"N": str(n)},
        "sku": {"S": f"BENCH-{n:08d}"},
        "name": {"S": f"Bench product {n}"},
        "description": {"S": "A product of the restart benchmark, as long as a demo one."},
        "category": {"S": f"category-{n % 12}"},
        "price": {"N": f"{5 + n % 200}.99"},
        "stock_quantity": {"N": "100"},
        "search_text": {"S": f"bench product {n}"},
        "created_at": {"S": "2026-12-07T00:00:00Z"},
        "updated_at": {"S": "2026-12-07T00:00:00Z"},
    }


def _count(client: Any) -> int:
    total, request = 0, {"TableName": "products", "Select": "COUNT"}
    while True:
        page = client.scan(**request)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def measure(items: int = 100_000) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="dynamodb-bench-", dir=ROOT / ".cloudmart") as scratch:
        data = Path(scratch)
        process, _ = _start(data)
        try:
            client = dynamodb_client(port=PORT)
            loading = time.monotonic()
            for first in range(1, items + 1, 25):
                batch = [
                    {"PutRequest": {"Item": _product(n)}}
                    for n in range(first, min(first + 25, items + 1))
                ]
                client.batch_write_item(RequestItems={"products": batch})
            loaded = time.monotonic() - loading
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        process, from_journal = _start(data)
        try:
            counted = _count(dynamodb_client(port=PORT))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        process, from_snapshot = _start(data)
        process.terminate()
        process.wait()
    report = {
        "items": items,
        "load_seconds": round(loaded, 1),
        "restart_seconds": round(from_journal, 1),
        "restart_from_snapshot_seconds": round(from_snapshot, 1),
        "counted_after_restart": counted,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dynamodb_restart.json").write_text(json.dumps(report, indent=2) + "\n")
    return [
        Figure(
            NAME,
            "items",
            requests=counted,
            errors=items - counted,
            note=(
                f"{items:,} products loaded in {loaded:.0f} s (batches of 25, each synced); "
                f"back in {from_journal:.1f} s after kill -9, {from_snapshot:.1f} s from its "
                "snapshot alone"
            ),
            extra=report,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    figure = measure(parser.parse_args().items)[0]
    print(figure.note, f"({figure.requests:,} counted)")


if __name__ == "__main__":
    main()
