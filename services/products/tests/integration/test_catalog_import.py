"""The S3 catalog import on the local emulator: real S3 event -> SQS -> the Lambda's handler."""

import json
import time
import uuid
from typing import Any

import boto3
import httpx

from cloudmart_local.layout import DYNAMODB_PORT, SERVICE_PORTS
from cloudmart_local.probes import dynamodb_client

PRODUCTS = f"http://127.0.0.1:{SERVICE_PORTS['products']}"


def _s3() -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{DYNAMODB_PORT}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _import(key: str, body: bytes) -> dict[str, Any]:
    """Upload a file as a user would, and wait for the import's report on it."""
    s3 = _s3()
    s3.delete_object(Bucket="catalog-imports", Key=f"reports/{key}.json")
    s3.put_object(Bucket="catalog-imports", Key=key, Body=body)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            obj = s3.get_object(Bucket="catalog-imports", Key=f"reports/{key}.json")
        except s3.exceptions.NoSuchKey:
            time.sleep(0.3)
            continue
        report: dict[str, Any] = json.loads(obj["Body"].read())
        return report
    raise AssertionError(f"no import report for {key}")


def _listed(filters: dict[str, str]) -> list[dict[str, Any]]:
    """The first page of a product listing, as the shop reads it."""
    page = httpx.get(f"{PRODUCTS}/api/products", params=filters, timeout=30)
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


def _updated_at(sku: str) -> str:
    product: dict[str, Any] = httpx.get(f"{PRODUCTS}/api/products/sku/{sku}").json()
    return str(product["updated_at"])


def test_a_csv_with_good_and_bad_rows_imports_the_good_ones_and_reports_the_rest() -> None:
    run = uuid.uuid4().hex[:6].upper()
    csv = "\n".join(
        [
            "sku,name,description,price,category,stock_quantity,image_url",
            f"IMP-{run}-1,Imported Kettle,Boils water,24.50,home,12,",
            f"IMP-{run}-2,Imported Mug,,-3,home,5,",
            f"IMP-{run}-3,Imported Teapot,Porcelain,39.00,home,many,",
            f"IMP-{run}-4,Imported Tray,Oak,18.00,home,7,https://example.com/tray.png",
            f"IMP-{run}-1,Duplicate Kettle,,10.00,home,1,",
        ]
    ).encode()
    key = f"incoming/catalog {run}.csv"  # a space: the event's key arrives URL-encoded
    report = _import(key, csv)
    assert sorted(report["created"]) == [f"IMP-{run}-1", f"IMP-{run}-4"]
    assert [(r["row"], r["reason"].split(":")[0]) for r in report["rejected"]] == [
        (3, "price"),
        (4, "stock_quantity"),
        (6, "sku repeats row 2"),
    ]
    kettle = httpx.get(f"{PRODUCTS}/api/products/sku/IMP-{run}-1").json()
    assert (kettle["price"], kettle["stock_quantity"]) == (24.5, 12)

    before = _updated_at(f"IMP-{run}-4")
    again = _import(key, csv)  # the same file again
    assert (again["created"], again["updated"]) == ([], [])
    assert sorted(again["unchanged"]) == [f"IMP-{run}-1", f"IMP-{run}-4"]
    assert _updated_at(f"IMP-{run}-4") == before


def test_a_json_catalog_updates_what_changed() -> None:
    run = uuid.uuid4().hex[:6].upper()
    sku = f"IMPJ-{run}"
    name = f"Imported Lamp {run}"
    listing = {"category": "home", "q": name}
    assert _listed(listing) == []  # the empty page is cached now
    first = [{"sku": sku, "name": name, "price": 30, "category": "home", "stock_quantity": 3}]
    key = f"incoming/{run}.json"
    assert _import(key, json.dumps(first).encode())["created"] == [sku]
    assert [item["sku"] for item in _listed(listing)] == [sku]
    product_id = httpx.get(f"{PRODUCTS}/api/products/sku/{sku}").json()["id"]
    httpx.get(f"{PRODUCTS}/api/products/{product_id}")  # now cached by the products service
    changed = {"products": [first[0] | {"price": 27.5}]}
    assert _import(key, json.dumps(changed).encode())["updated"] == [sku]
    item = dynamodb_client().query(
        TableName="products",
        IndexName="sku-index",
        KeyConditionExpression="sku = :s",
        ExpressionAttributeValues={":s": {"S": sku}},
    )["Items"][0]
    assert item["price"]["N"] == "27.5"
    product_id = item["id"]["N"]
    assert httpx.get(f"{PRODUCTS}/api/products/{product_id}").json()["price"] == 27.5
    assert [item["price"] for item in _listed(listing)] == [27.5]


def test_edits_and_imports_racing_reservations_never_undo_one() -> None:
    """200 reservations, 50 admin edits and two imports of the same products, all at once:
    each product ends with its initial stock minus what was reserved of it."""
    from concurrent.futures import ThreadPoolExecutor

    from tests import accounts

    run = uuid.uuid4().hex[:6].upper()
    admin, service = accounts.admin().headers, accounts.service_headers("orders")
    skus = [f"RACE-{run}-{n}" for n in range(4)]
    rows = [
        {
            "sku": sku,
            "name": f"Race item {sku}",
            "price": 10,
            "category": "race",
            "stock_quantity": 100,
        }
        for sku in skus
    ]
    assert (
        sorted(_import(f"incoming/race-{run}.json", json.dumps(rows).encode())["created"]) == skus
    )
    ids = [int(httpx.get(f"{PRODUCTS}/api/products/sku/{sku}").json()["id"]) for sku in skus]

    def reserve(n: int) -> tuple[int, int]:
        product_id = ids[n % len(ids)]
        body = {"order_id": f"race-{run}-{n}", "lines": [{"product_id": product_id, "quantity": 1}]}
        answer = httpx.post(
            f"{PRODUCTS}/internal/reservations", json=body, headers=service, timeout=60
        )
        return product_id, answer.status_code

    def edit(n: int) -> int:
        body = {"price": 10 + n % 7, "description": f"edit {n}"} if n % 2 else {"name": f"Race {n}"}
        return httpx.put(
            f"{PRODUCTS}/api/products/{ids[n % len(ids)]}", json=body, headers=admin, timeout=60
        ).status_code

    def reimport(n: int) -> list[str]:
        again = [row | {"price": 20 + n, "stock_quantity": 999} for row in rows]
        report = _import(f"incoming/race-{run}-again-{n}.json", json.dumps(again).encode())
        return list(report["updated"])

    with ThreadPoolExecutor(24) as pool:
        imports = [pool.submit(reimport, n) for n in range(2)]
        edits = [pool.submit(edit, n) for n in range(50)]
        reservations = list(pool.map(reserve, range(200)))
        assert [e.result() for e in edits] == [200] * 50
        assert all(sorted(i.result()) == skus for i in imports)
    assert {status for _, status in reservations} == {201}
    for product_id in ids:
        reserved = sum(1 for p, _ in reservations if p == product_id)
        product = httpx.get(f"{PRODUCTS}/api/products/{product_id}").json()
        assert product["stock_quantity"] == 100 - reserved, product
