"""The event envelope: built with every required field, validated against JSON Schema."""

import json
import uuid
from decimal import Decimal
from importlib import resources

import pytest

from cloudmart_common.events import SCHEMA_PACKAGE, InvalidEvent, new_event, validate_event


def test_a_new_event_carries_the_envelope_and_its_payload_at_the_top_level() -> None:
    event = new_event("widget_created", {"order_id": 123, "total_amount": Decimal("99.99")})
    assert uuid.UUID(event["event_id"]).version == 4
    assert event["event_type"] == "widget_created"
    assert event["event_version"] == 1
    assert event["timestamp"].endswith("Z")
    assert event["order_id"] == 123
    assert event["total_amount"] == 99.99


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"event_type": "OrderCreated"}, "event_type"),
        ({"event_version": 0}, "event_version"),
        ({"timestamp": "2025-11-23 10:30"}, "timestamp"),
    ],
)
def test_an_event_outside_the_envelope_is_refused(change: dict[str, object], where: str) -> None:
    event = {**new_event("widget_created", {"order_id": 1}), **change}
    with pytest.raises(InvalidEvent, match=where):
        validate_event(event)


def test_a_missing_envelope_field_is_refused() -> None:
    event = new_event("widget_created", {"order_id": 1})
    del event["event_id"]
    with pytest.raises(InvalidEvent, match="event_id"):
        validate_event(event)


def test_producers_can_require_a_schema_for_their_event_type() -> None:
    event = new_event("no_schema_for_this", {"x": 1})
    with pytest.raises(InvalidEvent, match="no JSON Schema"):
        validate_event(event, require_schema=True)


# Keywords that mean the same in draft-07, which the compiled validators implement, and in
# 2020-12, which the schemas declare. A schema using another (prefixItems, $defs,
# unevaluatedProperties, ...) would be checked wrongly or not at all.
_SHARED_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required", "const",
    "enum", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "format", "items", "minItems", "maxItems", "additionalProperties",
    # A versioned event is a oneOf of its versions (ADR 0018); $comment is an annotation.
    "oneOf", "$comment",
}  # fmt: skip


def _keywords(schema: object) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_keywords(part) for part in schema))
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for keyword, value in schema.items():
        if keyword == "properties":  # its keys are field names, its values schemas
            found |= set().union(*(_keywords(part) for part in value.values()))
        elif isinstance(value, dict | list):
            found |= _keywords(value)
    return found


def test_the_event_schemas_use_only_keywords_draft_07_reads_the_same() -> None:
    schemas = resources.files(SCHEMA_PACKAGE)
    for schema_file in schemas.iterdir():
        if schema_file.name.endswith(".schema.json"):
            unsupported = _keywords(json.loads(schema_file.read_text())) - _SHARED_KEYWORDS
            assert not unsupported, f"{schema_file.name}: {sorted(unsupported)}"
