"""The AsyncAPI 3.0 document of every Kafka topic, generated from the event JSON Schemas.

`python -m cloudmart_eventtools.asyncapi` rewrites `asyncapi.yaml` beside this module; `--check`
only compares and exits 1 when the committed document is stale. The message payloads are the
files of `event_schemas/` copied in verbatim, so the document is self-contained and never
drifts from what `validate_event` enforces (ADR 0018). The topology below (keys, headers,
producers, consumer groups) is read from the code that sets them; tests/contracts cross-check it.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import cloudmart_common
from cloudmart_common import topology
from cloudmart_common.asyncapi import DOCUMENT_FILE
from cloudmart_common.events import ENVELOPE_SCHEMA, SCHEMA_PACKAGE

BINDING_VERSION = "0.5.0"

_TRACEPARENT = {
    "type": "string",
    "description": "W3C trace context of the producing span (architecture.md §2)",
    "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
}
_TRACESTATE = {"type": "string", "description": "W3C tracestate, when the trace carries one"}
_EVENT_TYPE = {"type": "string", "description": "The payload's `event_type`, for routing"}
# Set by the DLQ redrive (notifications service, `cloudmart dlq replay`) on a record it replays
# to its original topic; a dead letter keeps them, which is what bounds replay loops.
REPLAY_HEADERS: dict[str, Any] = {
    topology.DeadLetterHeaders.REPLAY_COUNT: {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "How many times this event was replayed from the DLQ",
    },
    topology.DeadLetterHeaders.REPLAYED_FROM: {
        "type": "string",
        "description": (
            f"`{topology.DEAD_LETTERS.name}/<partition>/<offset>` of the dead letter replayed"
        ),
    },
}

# The outbox relay (outbox_relay.py) sets event_type and injects the relay's producer span,
# which always exists (spans are created even when export is off), so traceparent is certain.
OUTBOX_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["event_type", "traceparent"],
    "properties": {
        "event_type": _EVENT_TYPE,
        "traceparent": _TRACEPARENT,
        "tracestate": _TRACESTATE,
        **REPLAY_HEADERS,
    },
}
# EventProducer.send (kafka_producer.py) adds only event_type; trace headers are the caller's.
DIRECT_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["event_type"],
    "properties": {
        "event_type": _EVENT_TYPE,
        "traceparent": _TRACEPARENT,
        "tracestate": _TRACESTATE,
        **REPLAY_HEADERS,
    },
}
# The Flink sink (OrderAnalyticsJob.ByWindowStart) sets none; only a replayed record has some.
RESULT_HEADERS: dict[str, Any] = {"type": "object", "properties": REPLAY_HEADERS}
# The consumer runner (kafka_consumer.py `_dead_letter`) keeps the original headers and adds these.
DLQ_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": list(topology.DeadLetterHeaders.ON_EVERY_DEAD_LETTER),
    "properties": {
        "event_type": {**_EVENT_TYPE, "description": "The original record's, when it had one"},
        "traceparent": {**_TRACEPARENT, "description": "The original record's, when it had one"},
        "tracestate": _TRACESTATE,
        topology.DeadLetterHeaders.ERROR: {
            "type": "string",
            "maxLength": 1000,
            "description": "Why it was given up",
        },
        topology.DeadLetterHeaders.ORIGINAL_TOPIC: {"type": "string"},
        topology.DeadLetterHeaders.ORIGINAL_PARTITION: {"type": "string", "pattern": "^[0-9]+$"},
        topology.DeadLetterHeaders.ORIGINAL_OFFSET: {"type": "string", "pattern": "^[0-9]+$"},
        topology.DeadLetterHeaders.ATTEMPTS: {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Handler attempts; 0 for a record that was malformed on arrival",
        },
        topology.DeadLetterHeaders.CONSUMER_GROUP: {
            "type": "string",
            "description": "The group that gave up",
        },
        **REPLAY_HEADERS,
    },
    "additionalProperties": {"type": "string"},
}


@dataclass(frozen=True)
class Message:
    event_type: str
    key: str  # what the record key holds
    headers: dict[str, Any]


@dataclass(frozen=True)
class Producer:
    service: str
    messages: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class Consumer:
    service: str
    group_id: str | None  # None: read without a consumer group (inspection tools)
    messages: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class Channel:
    """A topic of the topology as the document describes it."""

    topic: topology.Topic
    description: str
    messages: tuple[Message, ...]
    producers: tuple[Producer, ...]
    consumers: tuple[Consumer, ...]


_ORDER_EVENTS = tuple(
    f"order_{status}" for status in ("created", "paid", "shipped", "delivered", "cancelled")
)
_PAYMENT_EVENTS = ("payment_succeeded", "payment_failed", "payment_refunded")
_RESULTS = ("analytics_window", "anomaly_detected", "late_event", "trending_products")
DEAD_LETTER = "dead_letter"
DLQ_TOPIC = topology.DEAD_LETTERS.name

CHANNELS: tuple[Channel, ...] = (
    Channel(
        topology.ORDERS,
        "One event per status change of an order, keyed by order id so one order stays in order.",
        tuple(Message(t, "order id", OUTBOX_HEADERS) for t in _ORDER_EVENTS),
        (Producer("orders", _ORDER_EVENTS, "transactional outbox, relayed with acks=all"),),
        (
            Consumer(
                "notifications", topology.NOTIFICATIONS_GROUP.group_id, _ORDER_EVENTS, "emails/SMS"
            ),
            Consumer(
                "analytics",
                topology.ANALYTICS_GROUP.group_id,
                _ORDER_EVENTS,
                "Flink job: tumbling and sliding (trending) windows, anomalies, data lake",
            ),
        ),
    ),
    Channel(
        topology.PAYMENTS,
        "Payment outcomes, keyed by order id (not payment id): one order's payments stay in order.",
        tuple(Message(t, "order id", OUTBOX_HEADERS) for t in _PAYMENT_EVENTS),
        (Producer("payments", _PAYMENT_EVENTS, "transactional outbox, relayed with acks=all"),),
        (
            Consumer(
                "orders", topology.ORDERS_GROUP.group_id, _PAYMENT_EVENTS, "the saga's async path"
            ),
            Consumer(
                "notifications",
                topology.NOTIFICATIONS_GROUP.group_id,
                _PAYMENT_EVENTS,
                "refund emails; successes and failures are deliberately silent",
            ),
        ),
    ),
    Channel(
        topology.NOTIFICATIONS,
        "Requests to notify someone that no order or payment event covers.",
        (
            Message("password_reset_requested", "user id", OUTBOX_HEADERS),
            Message("stock_low", "product id", DIRECT_HEADERS),
        ),
        (
            Producer("users", ("password_reset_requested",), "transactional outbox"),
            Producer(
                "products",
                ("stock_low",),
                "direct send after the stock write (DynamoDB has no outbox); best effort",
            ),
        ),
        (
            Consumer(
                "notifications",
                topology.NOTIFICATIONS_GROUP.group_id,
                ("password_reset_requested", "stock_low"),
                "password reset link to the addressee, low stock to the admins",
            ),
        ),
    ),
    Channel(
        topology.ANALYTICS_RESULTS,
        "The Flink job's results (exactly-once Kafka transactions). The sink sets no headers.",
        (
            Message("analytics_window", "window_start (ISO 8601)", RESULT_HEADERS),
            Message("anomaly_detected", "window_start (ISO 8601)", RESULT_HEADERS),
            Message("late_event", "order id", RESULT_HEADERS),
            Message("trending_products", "window_start (ISO 8601)", RESULT_HEADERS),
        ),
        (Producer("analytics", _RESULTS, "Flink KafkaSink, exactly-once"),),
        (
            Consumer(
                "dashboard",
                topology.DASHBOARD_GROUP.group_id,
                _RESULTS,
                "kept in Redis, served live",
            ),
        ),
    ),
    Channel(
        topology.DEAD_LETTERS,
        "The platform's one dead-letter topic (ADR 0009): records a consumer gave up on, byte "
        "for byte, with the original headers and the reason.",
        (Message(DEAD_LETTER, "the original record's key", DLQ_HEADERS),),
        (
            Producer("notifications", (DEAD_LETTER,), "consumer runner, after bounded retries"),
            Producer("orders", (DEAD_LETTER,), "consumer runner, after bounded retries"),
            Producer("dashboard", (DEAD_LETTER,), "consumer runner, after bounded retries"),
        ),
        (
            Consumer(
                "operators",
                None,
                (DEAD_LETTER,),
                "the notifications service's DLQ redrive (admin API, `cloudmart dlq`) reads by "
                "position, without a group; a replay goes back to the original topic",
            ),
        ),
    ),
)


def schemas_dir() -> Path:
    # A namespace package (no __init__): resources.files gives a MultiplexedPath, not a Path.
    return Path(cloudmart_common.__file__).with_name(SCHEMA_PACKAGE.rsplit(".", 1)[1])


def event_schemas(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every `<name>.schema.json` as loaded JSON, by name (`envelope`, `order_created`, ...)."""
    folder = directory or schemas_dir()
    return {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text())
        for path in sorted(folder.glob("*.schema.json"))
    }


def _message(channel: Channel, message: Message, schema: dict[str, Any] | None) -> dict[str, Any]:
    envelope = ENVELOPE_SCHEMA.removesuffix(".schema.json")
    built: dict[str, Any] = {"name": message.event_type, "contentType": "application/json"}
    if schema is None:  # the dead letter: whatever bytes the original record had
        built["title"] = "Dead-lettered record"
        built["summary"] = channel.description
        built["payload"] = {
            "description": "The original value unchanged: usually an event of another topic, "
            "possibly malformed (that may be why it is here)."
        }
    else:
        built["title"] = schema.get("title", message.event_type)
        built["summary"] = schema.get("description", "")
        built["payload"] = {
            "allOf": [
                {"$ref": f"#/components/schemas/{envelope}"},
                {"$ref": f"#/components/schemas/{message.event_type}"},
            ]
        }
    built["headers"] = message.headers
    built["bindings"] = {
        "kafka": {
            "key": {"type": "string", "description": message.key},
            "bindingVersion": BINDING_VERSION,
        }
    }
    return built


def _operation(
    action: str,
    channel: Channel,
    service: str,
    messages: Sequence[str],
    how: str,
    group: str | None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel.topic.name}"},
        "summary": f"{service}: {how}",
        "messages": [{"$ref": f"#/channels/{channel.topic.name}/messages/{m}"} for m in messages],
    }
    if group is not None:
        operation["bindings"] = {
            "kafka": {
                "groupId": {"type": "string", "enum": [group]},
                "bindingVersion": BINDING_VERSION,
            }
        }
    return operation


def build_document(schemas: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    schemas = schemas if schemas is not None else event_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in CHANNELS:
        topic = channel.topic
        for message in channel.messages:
            schema = None if message.event_type == DEAD_LETTER else schemas[message.event_type]
            messages[message.event_type] = _message(channel, message, schema)
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": channel.description,
            "messages": {
                m.event_type: {"$ref": f"#/components/messages/{m.event_type}"}
                for m in channel.messages
            },
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "replicas": topic.replication,
                    "topicConfiguration": {
                        "cleanup.policy": ["delete"],
                        "retention.ms": topic.retention_days * topology.DAY_MS,
                    },
                    "bindingVersion": BINDING_VERSION,
                }
            },
        }
        for producer in channel.producers:
            operations[f"{producer.service}.send.{topic.name}"] = _operation(
                "send", channel, producer.service, producer.messages, producer.how, None
            )
        if topic.name != DLQ_TOPIC:
            # Any record of any topic may be dead-lettered, and so replayed back where it was.
            operations[f"operators.send.{topic.name}"] = _operation(
                "send",
                channel,
                "operators",
                [m.event_type for m in channel.messages],
                "DLQ redrive: a dead letter replayed unchanged, plus the replay headers",
                None,
            )
        for consumer in channel.consumers:
            operations[f"{consumer.service}.receive.{topic.name}"] = _operation(
                "receive",
                channel,
                consumer.service,
                consumer.messages,
                consumer.how,
                consumer.group_id,
            )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CloudMart events",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of CloudMart (architecture.md §5). Values are UTF-8 JSON: the "
                "envelope (`event_id`, `event_type`, `event_version`, `timestamp`) plus the "
                "event's own fields at the top level. Keys are the aggregate id. Consumers "
                "commit after handling, dedupe on `event_id` and dead-letter poison records. "
                "Schema compatibility rules: docs/adr/0018-event-governance.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "The laptop stack's broker (`make up`), replication 1",
            },
            "aws": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "Amazon MSK (3 brokers, port 9092)",
                "variables": {"bootstrap": {"description": "MSK bootstrap broker list"}},
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render(document: dict[str, Any]) -> str:
    header = (
        "# Generated by `python -m cloudmart_eventtools.asyncapi` from event_schemas/: "
        "do not edit.\n"
    )
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def _document_path() -> Path:
    """The committed document, in the shared library (which serves it at runtime)."""
    return Path(cloudmart_common.__file__).with_name(DOCUMENT_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudmart_eventtools.asyncapi", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    parser.add_argument("--output", type=Path, default=_document_path())
    args = parser.parse_args(argv)
    wanted = render(build_document())
    current = args.output.read_text() if args.output.exists() else None
    if args.check:
        if current != wanted:
            print(
                f"{args.output} is stale: run `python -m cloudmart_eventtools.asyncapi`",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current != wanted:
        args.output.write_text(wanted)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
