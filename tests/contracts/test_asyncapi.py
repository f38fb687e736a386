"""The AsyncAPI document: current, valid against the official 3.0.0 schema, true to the code."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from cloudmart_common import asyncapi as served  # the committed document
from cloudmart_common import topology
from cloudmart_common.events import new_event
from cloudmart_eventtools import asyncapi
from cloudmart_gateway import openapi
from cloudmart_local.layout import ROOT, TOOLS

SPEC_SCHEMA = TOOLS / "asyncapi-specs" / "schemas" / "3.0.0-without-$id.json"
COMMON = ROOT / "libs" / "common" / "src" / "cloudmart_common"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return served.document()


@pytest.fixture(scope="module")
def spec() -> Draft7Validator:
    if not SPEC_SCHEMA.is_file():
        pytest.fail(f"{SPEC_SCHEMA} is missing: run `bash deploy/tools/install.sh`")
    return Draft7Validator(json.loads(SPEC_SCHEMA.read_text()))


def test_the_committed_document_is_generated_from_the_current_schemas() -> None:
    assert asyncapi.main(["--check"]) == 0, "run `python -m cloudmart_eventtools.asyncapi`"


def test_a_stale_document_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(served.document_text().replace("order_created", "order_placed", 1))

    assert asyncapi.main(["--check", "--output", str(stale)]) == 1


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any], spec: Draft7Validator) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in spec.iter_errors(document)
    ]
    assert document["asyncapi"] == "3.0.0"
    assert errors == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = document
        for step in parents:
            node = node[step]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        _set("operations/orders.send.orders/action", "publish"),  # AsyncAPI 2 wording
        _set("channels/orders/bindings/kafka/partitions", 0),
        _set("components/messages/order_paid/bindings/kafka/partition_key", {}),
        _set("components/messages/order_paid/headers", {"type": "objekt"}),
        _set("components/schemas/order_paid/required", "order_id"),
    ],
    ids=["action", "partitions", "binding", "headers", "payload"],
)
def test_the_validation_catches_a_broken_document(
    document: dict[str, Any], spec: Draft7Validator, mutate: Callable[[dict[str, Any]], None]
) -> None:
    broken = json.loads(json.dumps(document))
    mutate(broken)

    assert not spec.is_valid(broken)


def test_every_topic_of_the_local_stack_is_described_with_its_layout(
    document: dict[str, Any],
) -> None:
    channels = document["channels"]
    assert set(channels) == {topic.name for topic in topology.TOPICS}
    for topic in topology.TOPICS:
        kafka = channels[topic.name]["bindings"]["kafka"]
        assert channels[topic.name]["address"] == topic.name
        assert (kafka["partitions"], kafka["replicas"]) == (topic.partitions, topic.replication)
        assert (
            kafka["topicConfiguration"]["retention.ms"] == topic.retention_days * 24 * 3600 * 1000
        )


def _resolve(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for step in reference.removeprefix("#/").split("/"):
        node = node[step]
    return node


def test_every_message_payload_is_the_repositorys_json_schema(document: dict[str, Any]) -> None:
    on_disk = {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text())
        for path in (COMMON / "event_schemas").glob("*.schema.json")
    }
    assert document["components"]["schemas"] == on_disk
    described = set()
    for name, message in document["components"]["messages"].items():
        if name == asyncapi.DEAD_LETTER:
            continue
        parts = [_resolve(document, part["$ref"]) for part in message["payload"]["allOf"]]
        assert parts == [on_disk["envelope"], on_disk[name]]
        described.add(name)
    # Every event type with a schema travels on some topic.
    assert described == set(on_disk) - {"envelope"}


def test_the_schemas_read_the_same_as_draft_7(document: dict[str, Any]) -> None:
    # AsyncAPI tools read payloads as draft 7; ours are 2020-12 and must mean the same there.
    same_in_both = {
        "$schema", "$id", "title", "description", "type", "required", "properties",
        "additionalProperties", "items", "const", "enum", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
        "minItems", "maxItems", "oneOf", "allOf", "anyOf", "not", "$comment", "examples",
        "default", "x-retired-versions",
    }  # fmt: skip

    def keywords(schema: Any) -> set[str]:
        if not isinstance(schema, dict):
            return set()
        found = set(schema)
        for key, value in schema.items():
            if key == "properties":
                found |= {k for sub in value.values() for k in keywords(sub)}
            elif key in ("items", "additionalProperties", "not"):
                found |= keywords(value)
            elif key in ("oneOf", "allOf", "anyOf"):
                found |= {k for sub in value for k in keywords(sub)}
        return found

    for name, schema in document["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)
        assert keywords(schema) <= same_in_both, name


def test_a_produced_event_fits_its_message_payload(document: dict[str, Any]) -> None:
    event = new_event(
        "stock_low",
        {"product_id": 7, "product_name": "Laptop", "sku": "LAP-7", "stock_quantity": 2,
         "threshold": 10},
    )  # fmt: skip
    payload = document["components"]["messages"]["stock_low"]["payload"]
    # The payload's $refs point into the document: validate from a root that holds them.
    validator = Draft202012Validator(
        {**payload, "components": document["components"]}, format_checker=FormatChecker()
    )

    assert validator.is_valid(event)
    assert not validator.is_valid({**event, "stock_quantity": "two"})
    assert not validator.is_valid({k: v for k, v in event.items() if k != "event_id"})


def _headers_set_in(source: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, source.read_text()))


def test_headers_are_the_ones_the_producers_set(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    relay = _headers_set_in(COMMON / "outbox_relay.py", r'\("([a-z_]+)", row[.\[]')
    assert relay == {"event_type"}  # plus the trace context (kafka_headers_with_trace)
    for name in ("order_created", "payment_failed", "password_reset_requested"):
        assert set(messages[name]["headers"]["required"]) == {"event_type", "traceparent"}
    assert messages["stock_low"]["headers"]["required"] == ["event_type"]
    # The consumer runner sets exactly the topology's dead-letter headers (kafka_consumer.py
    # names them only through it: deploy/tests/test_repository.py).
    dead_letter = set(topology.DeadLetterHeaders.ON_EVERY_DEAD_LETTER)
    assert "DeadLetterHeaders.CONSUMER_GROUP" in (COMMON / "kafka_consumer.py").read_text()
    assert dead_letter <= set(messages[asyncapi.DEAD_LETTER]["headers"]["properties"])
    assert set(messages[asyncapi.DEAD_LETTER]["headers"]["required"]) == dead_letter
    # The Flink sink builds its records without headers.
    job = ROOT / "analytics/src/main/java/dev/cloudmart/analytics/OrderAnalyticsJob.java"
    assert "new ProducerRecord<>(topic, null, null," in job.read_text()
    assert "required" not in messages["analytics_window"]["headers"]


def test_the_replay_headers_are_the_ones_the_redrive_sets(document: dict[str, Any]) -> None:
    replay = {topology.DeadLetterHeaders.REPLAY_COUNT, topology.DeadLetterHeaders.REPLAYED_FROM}
    assert set(asyncapi.REPLAY_HEADERS) == replay
    records = ROOT / "services/notifications/src/cloudmart_notifications/redrive/records.py"
    for name in ("DeadLetterHeaders.REPLAY_COUNT", "DeadLetterHeaders.REPLAYED_FROM"):
        assert name in records.read_text()
    for name, message in document["components"]["messages"].items():
        assert replay <= set(message["headers"]["properties"]), name


def test_consumer_groups_are_the_ones_the_consumers_join(document: dict[str, Any]) -> None:
    groups = {
        name.split(".")[0]: op["bindings"]["kafka"]["groupId"]["enum"][0]
        for name, op in document["operations"].items()
        if op["action"] == "receive" and "bindings" in op
    }
    assert groups == {
        "notifications": topology.NOTIFICATIONS_GROUP.group_id,
        "orders": topology.ORDERS_GROUP.group_id,
        "dashboard": topology.DASHBOARD_GROUP.group_id,
        "analytics": topology.ANALYTICS_GROUP.group_id,
    }
    # Each Python consumer joins its group from the topology; the Flink job (Java) spells it.
    joins = {
        "notifications": (
            "services/notifications/src/cloudmart_notifications/consumer.py",
            "group=NOTIFICATIONS_GROUP",
        ),
        "orders": ("services/orders/src/cloudmart_orders/consumer.py", "group=ORDERS_GROUP"),
        "dashboard": (
            "services/dashboard/src/cloudmart_dashboard/consumer.py",
            "group=DASHBOARD_GROUP",
        ),
        "analytics": (
            "analytics/src/main/java/dev/cloudmart/analytics/OrderAnalyticsJob.java",
            f'"{topology.ANALYTICS_GROUP.group_id}"',
        ),
    }
    for service, (source, join) in joins.items():
        assert join in (ROOT / source).read_text(), service


def test_the_gateway_serves_the_document_and_links_it_from_the_api_docs() -> None:
    app = FastAPI()
    app.include_router(openapi.router)
    client = TestClient(app)

    as_json = client.get(openapi.ASYNCAPI_JSON)
    as_yaml = client.get(openapi.ASYNCAPI_YAML)

    assert as_json.status_code == 200
    assert as_json.json() == served.document()
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.text) == as_json.json()
    description = openapi.merge({})["info"]["description"]
    assert f"({openapi.ASYNCAPI_JSON})" in description
