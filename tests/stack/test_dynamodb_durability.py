"""The local DynamoDB keeps every acknowledged write: across a `kill -9` of the emulator (this
module), and across `make down` / `make up` (tests/lifecycle). The journal's own rules are
checked on a scratch directory."""

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from cloudmart_local.layout import ROOT
from cloudmart_local.probes import dynamodb_client
from tests.accounts import admin, new_customer
from tests.shop import new_product, order_body, place
from tests.stack_control import killed, service_url

_spec = importlib.util.spec_from_file_location(
    "journal", ROOT / "local" / "dynamodb" / "journal.py"
)
assert _spec is not None
assert _spec.loader is not None
journal = importlib.util.module_from_spec(_spec)
sys.modules["journal"] = journal
_spec.loader.exec_module(journal)


def _stored(product_id: int) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb_client().get_item(
        TableName="products", Key={"id": {"N": str(product_id)}}, ConsistentRead=True
    )["Item"]
    return item


def test_acknowledged_writes_and_stock_survive_a_kill_9_of_the_emulator() -> None:
    staff, buyer = admin(), new_customer("durable")
    product = new_product(staff, stock=50, price=3.5)
    products = service_url("products")
    edited = httpx.put(
        f"{products}/api/products/{product['id']}",
        json={"description": "kept across a crash"},
        headers=staff.headers,
    )
    assert edited.status_code == 200, edited.text
    adjusted = httpx.patch(
        f"{products}/api/products/{product['id']}/stock",
        json={"adjust": -5, "reason": "inventory count"},
        headers=staff.headers,
    )
    assert adjusted.status_code == 200, adjusted.text
    orders = []
    with httpx.Client(base_url=service_url("gateway"), timeout=60) as http:
        for quantity in (2, 3):
            answer = place(http, buyer, order_body([(product["id"], quantity)]))
            assert answer.status_code == 201, answer.text
            orders.append(answer.json()["id"])
    before = _stored(product["id"])
    assert before["stock_quantity"] == {"N": "40"}

    with killed("dynamodb"):
        pass

    after = _stored(product["id"])
    assert after == before
    assert after["description"] == {"S": "kept across a crash"}
    for order_id in orders:  # the reservations too: a release after the crash finds them
        reservation = dynamodb_client().get_item(
            TableName="product-reservations", Key={"order_id": {"S": str(order_id)}}
        )
        assert reservation["Item"]["status"] == {"S": "reserved"}


def _journal(directory: Path, compact_bytes: int = 1 << 20) -> Any:
    return journal.Journal(directory, compact_bytes)


def _record(n: int) -> dict[str, Any]:
    return {"h": {"X-Amz-Target": "DynamoDB_20120810.PutItem"}, "b": json.dumps({"n": n})}


def test_the_journal_drops_a_torn_last_record_and_never_replays_a_compacted_one(
    tmp_path: Path,
) -> None:
    def load(into: list[int]) -> Any:
        loaded = _journal(tmp_path)
        loaded.load(
            lambda table: into.append(-1),
            lambda item: into.append(item[0]),
            lambda record: into.append(json.loads(record["b"])["n"]),
        )
        return loaded

    first = _journal(tmp_path)
    first.load(lambda t: None, lambda i: None, lambda r: None)
    for n in range(3):
        first.append(_record(n))
    first.close()
    with (tmp_path / "journal-0.jsonl").open("a") as torn:
        torn.write('{"h": {"X-Amz-Tar')  # died mid-write: never acknowledged
    replayed: list[int] = []
    second = load(replayed)
    assert replayed == [0, 1, 2]
    second.append(_record(3))  # appended after the cut, not glued to the torn bytes
    second.compact(iter([{"table": {"at": ["a", "r", "t"], "schema": []}}, {"item": [10]}]))
    second.append(_record(4))
    second.close()
    # A compaction that died after its rename but before deleting the old journal:
    (tmp_path / "journal-0.jsonl").write_text(json.dumps(_record(99)) + "\n")
    restored: list[int] = []
    load(restored).close()
    assert restored == [-1, 10, 4]
    assert not (tmp_path / "journal-0.jsonl").exists()
