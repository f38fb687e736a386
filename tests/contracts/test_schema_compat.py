"""Event schema compatibility: the repository passes; deliberate breaks, on copies, are caught."""

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloudmart_eventtools import schema_compat
from cloudmart_eventtools.asyncapi import event_schemas, schemas_dir
from cloudmart_eventtools.schema_compat import RETIRED_VERSIONS, compare

Schema = dict[str, Any]


def test_no_event_schema_changed_incompatibly_since_its_previous_commit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = schema_compat.main([])

    assert status == 0, capsys.readouterr().out


@pytest.fixture
def order_created() -> Schema:
    return copy.deepcopy(event_schemas()["order_created"])


Change = Callable[[Schema], None]


def _changed(schema: Schema, change: Change) -> Schema:
    changed = copy.deepcopy(schema)
    change(changed)
    return changed


def _at(schema: Schema, path: str) -> Any:
    node: Any = schema
    for step in filter(None, path.split("/")):
        node = node[step]
    return node


def put(path: str, value: Any) -> Change:
    parent, _, name = path.rpartition("/")
    return lambda s: _at(s, parent).__setitem__(name, value)


def drop(path: str) -> Change:
    parent, _, name = path.rpartition("/")
    return lambda s: _at(s, parent).pop(name)


def unrequire(name: str, at: str = "") -> Change:
    return lambda s: _at(s, at)["required"].remove(name)


def require(name: str) -> Change:
    return lambda s: s["required"].append(name)


def rename(old: str, new: str) -> Change:
    def change(s: Schema) -> None:
        s["properties"][new] = s["properties"].pop(old)
        s["required"] = [new if r == old else r for r in s["required"]]

    return change


def both(*changes: Change) -> Change:
    def change(s: Schema) -> None:
        for one in changes:
            one(s)

    return change


ITEM = "properties/items/items"
# change -> what the checker must say about it
INCOMPATIBLE: dict[str, tuple[Change, str]] = {
    "property removed": (
        both(drop("properties/total_amount"), unrequire("total_amount")),
        "'total_amount' removed",
    ),
    "property renamed": (rename("total_amount", "amount"), "'total_amount' removed (or renamed)"),
    "no longer required": (unrequire("shipping_region"), "'shipping_region' is no longer required"),
    "newly required field": (
        both(put("properties/coupon", {"type": "string"}), require("coupon")),
        "'coupon' became required",
    ),
    "type changed": (put("properties/order_id/type", "string"), "/order_id: type changed"),
    "type widened": (put("properties/user_id/type", ["integer", "null"]), "/user_id: type changed"),
    "type narrowed": (
        put("properties/shipping_region/type", "string"),
        "/shipping_region: type changed",
    ),
    "const changed": (put("properties/status/const", "placed"), "/status: const changed"),
    "item field removed": (drop(f"{ITEM}/properties/price"), "/items[]: property 'price' removed"),
    "item field retyped": (
        put(f"{ITEM}/properties/quantity/type", "number"),
        "/items[]/quantity: type changed",
    ),
    "item field unrequired": (unrequire("price", ITEM), "/items[]: 'price' is no longer required"),
    "bound tightened": (put("properties/items/minItems", 2), "/items: minItems changed"),
    "bound loosened": (drop("properties/order_id/minimum"), "/order_id: minimum removed"),
    "pattern changed": (
        put("properties/currency/pattern", "^[A-Z]{3,4}$"),
        "/currency: pattern changed",
    ),
    "additionalProperties tightened": (
        put("additionalProperties", False),
        "additionalProperties changed from true to false",
    ),
    "item additionalProperties tightened": (
        put(f"{ITEM}/additionalProperties", False),
        "/items[]: additionalProperties changed",
    ),
}


@pytest.mark.parametrize(("change", "reason"), INCOMPATIBLE.values(), ids=INCOMPATIBLE.keys())
def test_an_incompatible_change_is_caught(
    order_created: Schema, change: Change, reason: str
) -> None:
    problems = compare(order_created, _changed(order_created, change), name="order_created")

    assert any(reason in str(problem) for problem in problems), problems


def test_enums_may_neither_narrow_nor_widen() -> None:
    cancelled = event_schemas()["order_cancelled"]
    narrowed = _changed(cancelled, put("properties/previous_status/enum", ["pending"]))
    widened = _changed(
        cancelled, put("properties/previous_status/enum", ["pending", "processing", "shipped"])
    )

    assert "enum narrowed" in str(compare(cancelled, narrowed)[0])
    assert "enum widened" in str(compare(cancelled, widened)[0])


COMPATIBLE: dict[str, Change] = {
    "unchanged": lambda s: None,
    "optional field added": put("properties/coupon", {"type": "string"}),
    "optional item field added": put(f"{ITEM}/properties/sku", {"type": "string"}),
    "description reworded": put("description", "Said better."),
    "field documented": put("properties/order_id/description", "The order"),
    "required reordered": lambda s: s["required"].reverse(),
    "example added": put("properties/currency/examples", ["USD"]),
}


@pytest.mark.parametrize("change", COMPATIBLE.values(), ids=COMPATIBLE.keys())
def test_a_compatible_change_is_accepted(order_created: Schema, change: Change) -> None:
    assert compare(order_created, _changed(order_created, change)) == []


def _versioned(*branches: tuple[int, Schema]) -> Schema:
    def pinned(version: int, schema: Schema) -> Schema:
        body = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "title")}
        body["properties"] = {**body["properties"], "event_version": {"const": version}}
        return body

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "order_created",
        "oneOf": [pinned(version, schema) for version, schema in branches],
    }


def _v2(order_created: Schema) -> Schema:
    # The breaking change itself: total_amount becomes an object with currency inside.
    return _changed(
        order_created, put("properties/total_amount", {"type": "object", "required": ["value"]})
    )


def test_a_breaking_change_is_accepted_as_a_new_version_beside_the_old(
    order_created: Schema,
) -> None:
    new = _versioned((1, order_created), (2, _v2(order_created)))

    assert compare(order_created, new) == []


def test_a_new_version_that_drops_the_old_one_is_caught(order_created: Schema) -> None:
    only_v2 = _versioned((2, _v2(order_created)))
    previous = _versioned((1, order_created), (2, _v2(order_created)))

    assert compare(order_created, _v2(order_created))  # no version at all
    assert compare(previous, only_v2), "version 1 dropped while retained events carry it"
    assert compare(previous, {**only_v2, RETIRED_VERSIONS: [1]}) == []  # retired on purpose


def test_a_kept_version_may_not_change_incompatibly(order_created: Schema) -> None:
    previous = _versioned((1, order_created), (2, _v2(order_created)))
    v1_broken = _changed(order_created, unrequire("currency"))

    problems = compare(previous, _versioned((1, v1_broken), (2, _v2(order_created))))

    assert [p.where for p in problems] == ["event_version=1"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A throwaway repository holding copies of the real schemas, committed once."""
    folder = tmp_path / "event_schemas"
    shutil.copytree(schemas_dir(), folder)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "schemas")
    return folder


def _edit(path: Path, change: Change) -> None:
    path.write_text(json.dumps(_changed(json.loads(path.read_text()), change), indent=2))


def test_the_cli_fails_on_an_uncommitted_incompatible_change(history: Path) -> None:
    _edit(history / "payment_failed.schema.json", unrequire("failure_reason"))

    assert schema_compat.main(["--schemas", str(history)]) == 1


def test_the_cli_fails_on_a_committed_incompatible_change(history: Path) -> None:
    _edit(history / "order_paid.schema.json", drop("properties/payment_id"))
    _git(history.parent, "commit", "-q", "-am", "break order_paid")

    assert schema_compat.main(["--schemas", str(history)]) == 1


def test_the_cli_fails_when_a_schema_is_deleted(history: Path) -> None:
    (history / "stock_low.schema.json").unlink()

    assert schema_compat.main(["--schemas", str(history)]) == 1


def test_the_cli_accepts_compatible_history_and_new_schemas(history: Path) -> None:
    _edit(history / "order_paid.schema.json", COMPATIBLE["optional field added"])
    _git(history.parent, "commit", "-q", "-am", "order_paid gains a coupon")
    (history / "order_returned.schema.json").write_text('{"type": "object"}')

    assert schema_compat.main(["--schemas", str(history)]) == 0


def test_without_git_history_nothing_is_compared(tmp_path: Path) -> None:
    folder = tmp_path / "event_schemas"
    shutil.copytree(schemas_dir(), folder)

    reports = schema_compat.check_directory(folder)

    assert reports
    assert all(not r.problems and "no" in r.source for r in reports)
