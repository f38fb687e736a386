"""What a consumer reads of the events it consumes, and where such a field sits in a schema.

Each consumer declares its reads beside its handler; tests/contracts resolves every declared
path in the producer's JSON Schema, so removing a field a consumer reads fails `make test`.

Paths: `order_id`, `items[].price` (every element of an array), `by_region{}.revenue` (every
value of a map, i.e. `additionalProperties`).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Need = Literal["required", "optional"]
_STEP = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(?P<suffix>(\[\]|\{\})?)$")


@dataclass(frozen=True)
class FieldRead:
    path: str
    # required: without it the consumer fails or computes wrong results; optional: it copes.
    need: Need
    why: str = ""


@dataclass(frozen=True)
class ConsumerContract:
    consumer: str  # the service (or job) as the AsyncAPI document names it
    topic: str
    reads: Mapping[str, tuple[FieldRead, ...]] = field(default_factory=dict)  # by event type


def reads(required: Iterable[str] = (), optional: Iterable[str] = ()) -> tuple[FieldRead, ...]:
    return (
        *(FieldRead(path, "required") for path in required),
        *(FieldRead(path, "optional") for path in optional),
    )


@dataclass(frozen=True)
class SchemaField:
    exists: bool
    required: bool  # present in every event that fits (each step required, in every branch)


def _branches(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A schema and its allOf parts, which all apply at once."""
    parts: list[Mapping[str, Any]] = [schema]
    for part in schema.get("allOf", []):
        parts += _branches(part)
    return parts


def find_field(schemas: Iterable[Mapping[str, Any]], path: str) -> SchemaField:
    """Where `path` stands in the event that fits all of `schemas` (envelope, type, ...)."""
    alternatives = _alternatives([part for schema in schemas for part in _branches(schema)])
    results = [_find(parts, path.split(".")) for parts in alternatives]
    return SchemaField(
        exists=all(r.exists for r in results), required=all(r.required for r in results)
    )


def _alternatives(parts: list[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    # A versioned schema (oneOf per event_version) must offer the field in every version.
    for index, part in enumerate(parts):
        if part.get("oneOf"):
            rest = [
                *parts[:index],
                {k: v for k, v in part.items() if k != "oneOf"},
                *parts[index + 1 :],
            ]
            return [
                alternative
                for branch in part["oneOf"]
                for alternative in _alternatives([*rest, *_branches(branch)])
            ]
    return [parts]


def _find(parts: list[Mapping[str, Any]], steps: list[str]) -> SchemaField:
    if not steps:
        return SchemaField(True, True)
    match = _STEP.match(steps[0])
    if match is None:
        raise ValueError(f"not a field path step: {steps[0]!r}")
    name, suffix = match["name"], match["suffix"]
    children = [p["properties"][name] for p in parts if name in p.get("properties", {})]
    required = any(name in p.get("required", []) for p in parts)
    if not children and required:
        children = [{}]  # required without a schema of its own: present, of any type
    if not children:
        return SchemaField(False, False)
    # Through an array or a map, "required" means: in every element (an empty one has none).
    if suffix == "[]":
        children = [c["items"] for c in children if isinstance(c.get("items"), dict)]
    elif suffix == "{}":
        children = [
            c["additionalProperties"]
            for c in children
            if isinstance(c.get("additionalProperties"), dict)
        ]
    if not children:
        return SchemaField(False, False)
    below = _find([part for child in children for part in _branches(child)], steps[1:])
    return SchemaField(below.exists, required and below.required)
