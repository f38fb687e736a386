"""The event envelope of architecture.md §5: building events, validating them by JSON Schema."""

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from fastjsonschema import JsonSchemaValueException

from cloudmart_common.errors import UnprocessableError

SCHEMA_PACKAGE = "cloudmart_common.event_schemas"
ENVELOPE_SCHEMA = "envelope.schema.json"


class InvalidEvent(UnprocessableError):
    title, slug = "Invalid event", "invalid-event"


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with a `Z`, to the millisecond: the `timestamp` format of every event."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_compatible(value: Any) -> Any:
    # Money is Decimal in the services and a JSON number (two places) on the wire.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return utc_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_compatible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_compatible(v) for v in value]
    return value


class ValidatedEvent(dict[str, Any]):
    """An event `new_event` built and checked against its schemas: the outbox does not check
    it again (each check walks the whole schema; twice per event was measurable per order)."""


def new_event(event_type: str, payload: Mapping[str, Any], *, version: int = 1) -> dict[str, Any]:
    """An event: the envelope plus the payload's fields at the top level, JSON-ready."""
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "event_version": version,
        "timestamp": utc_timestamp(),
    }
    event: dict[str, Any] = {**_json_compatible(payload), **envelope}
    return ValidatedEvent(validate_event(event))


def checked_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """`event` as a dict, validated unless `new_event` built it."""
    return dict(event) if isinstance(event, ValidatedEvent) else validate_event(event)


Validator = Callable[[Any], Any]


@cache
def _validator(schema_file: str) -> Validator | None:
    """The schema compiled to a Python function (fastjsonschema): jsonschema's interpreter
    walked the schema for every event, a measurable share of a checkout's CPU in each service
    that produces or consumes it (ADR 0017). The schemas use the draft-07 subset of 2020-12,
    which the compiler implements; its formats (date-time, email, uuid) are checked."""
    schema_path = resources.files(SCHEMA_PACKAGE).joinpath(schema_file)
    if not schema_path.is_file():
        return None
    schema = json.loads(schema_path.read_text())
    schema.pop("$schema", None)  # 2020-12's URI: compiled with draft-07 semantics
    return fastjsonschema.compile(schema)


def schema_file_for(event_type: str) -> str:
    return f"{event_type}.schema.json"


def validate_event(event: Mapping[str, Any], *, require_schema: bool = False) -> dict[str, Any]:
    """The event as a dict when it fits the envelope and its type's schema; InvalidEvent if not.

    Types without a schema of their own are checked against the envelope only, unless
    `require_schema` (producers' tests use it, so every produced type has a schema).
    """
    envelope = _validator(ENVELOPE_SCHEMA)
    assert envelope is not None, "the envelope schema ships with cloudmart_common"
    _check(envelope, event, "envelope")
    event_type = str(event["event_type"])
    specific = _validator(schema_file_for(event_type))
    if specific is None and require_schema:
        raise InvalidEvent(f"no JSON Schema for event type {event_type!r}")
    if specific is not None:
        _check(specific, event, event_type)
    return dict(event)


def _check(validator: Validator, event: Mapping[str, Any], what: str) -> None:
    try:
        validator(event)
    except JsonSchemaValueException as error:
        where = "/".join(str(part) for part in error.path[1:]) or "(root)"
        raise InvalidEvent(f"{what}: {where}: {error.message}") from None
