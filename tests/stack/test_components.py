"""Each component of the local stack does its real job, reached the way the services reach it."""

import asyncio
import json
import smtplib
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from cloudmart_common import topic_admin, topology
from cloudmart_common.settings import local_database_password
from cloudmart_local.layout import (
    DATABASES,
    KAFKA_PORT,
    MAILPIT_PORT,
    PGBOUNCER_PORT,
    SERVICE_PORTS,
    SMTP_PORT,
)
from cloudmart_local.probes import dynamodb_client
from tests.stack_control import query, service_url, stripe_client, wait_for


def test_kafka_lists_the_broker_and_the_design_topics_with_their_partitions() -> None:
    listing = subprocess.run(
        ["kcat", "-b", f"127.0.0.1:{KAFKA_PORT}", "-L", "-J"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    metadata = json.loads(listing.stdout)
    assert [broker["name"] for broker in metadata["brokers"]] == [f"127.0.0.1:{KAFKA_PORT}"]
    partitions = {topic["topic"]: len(topic["partitions"]) for topic in metadata["topics"]}
    for topic in topology.TOPICS:
        found = partitions.get(topic.name)
        assert found == topic.partitions, f"{topic.name}: {found} partitions"


async def _topic_configs() -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}")
    await admin.start()
    try:
        kind = ConfigResourceType.TOPIC
        described = await admin.describe_configs(
            [ConfigResource(kind, topic.name) for topic in topology.TOPICS]
        )
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for answer in described:
        for _, _, _, name, entries in answer.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


def test_the_local_topics_are_what_the_cloud_topic_job_asks_for() -> None:
    # The chart's topic Job and `make up` run the same command; here, on one broker.
    configs = asyncio.run(_topic_configs())
    for topic in topic_admin.plan(replication=1):
        for key, value in topic["configs"].items():
            assert configs[topic["name"]][key] == value, f"{topic['name']}: {key}"
    assert configs["orders"]["compression.type"] == "snappy"
    assert configs["analytics-results"]["compression.type"] == "gzip"


def _psql(user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
    """psql through pgbouncer as a service role, as the services connect."""
    return subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(PGBOUNCER_PORT),
            "-U",
            user,
            "-d",
            database,
            "-tAc",
            sql,
        ],
        env={"PGPASSWORD": local_database_password(user), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("database", DATABASES)
def test_psql_reaches_each_database_through_pgbouncer(database: str) -> None:
    result = _psql(database, database, "SELECT current_database() || ' ' || current_user")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{database} {database}"


def test_a_service_role_cannot_open_another_services_database() -> None:
    result = _psql("orders", "payments", "SELECT 1")
    assert result.returncode != 0
    assert "permission denied" in result.stderr


def test_boto3_lists_the_products_table_with_both_indexes() -> None:
    client = dynamodb_client()
    assert "products" in client.list_tables()["TableNames"]
    table = client.describe_table(TableName="products")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    indexes = {index["IndexName"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {"category-index", "sku-index"}


def test_stripe_sdk_creates_and_confirms_a_payment_intent_at_localstripe() -> None:
    client = stripe_client()
    customer = client.v1.customers.create(params={"email": "buyer@example.test"})
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1999,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": method.id,
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    assert client.v1.payment_intents.retrieve(intent.id).amount == 1999


def test_localstripe_answers_a_repeated_idempotency_key_with_the_first_answer() -> None:
    """As Stripe does: a charge retried with its key (after a timeout) is not a second one."""
    client = stripe_client()
    params: dict[str, Any] = {
        "amount": 700,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "payment_method_types": ["card"],
        "confirm": True,
    }
    key = {"idempotency_key": f"test-{uuid.uuid4().hex}"}
    with ThreadPoolExecutor(4) as pool:  # concurrent repeats too
        intents = list(
            pool.map(lambda _: client.v1.payment_intents.create(params, key), range(4))  # type: ignore[arg-type]
        )
    assert len({intent.id for intent in intents}) == 1
    other = client.v1.payment_intents.create(params, {"idempotency_key": uuid.uuid4().hex})  # type: ignore[arg-type]
    assert other.id != intents[0].id


def test_localstripe_finds_payment_intents_by_metadata() -> None:
    client = stripe_client()
    tag = uuid.uuid4().hex
    params: dict[str, Any] = {
        "amount": 800,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "payment_method_types": ["card"],
        "metadata": {"payment_id": tag},
    }
    intent = client.v1.payment_intents.create(params)  # type: ignore[arg-type]
    found = client.v1.payment_intents.search({"query": f"metadata['payment_id']:'{tag}'"})
    assert [i.id for i in found.data] == [intent.id]
    assert client.v1.payment_intents.search({"query": "metadata['payment_id']:'none'"}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.search({"query": "amount>100"})


def test_localstripe_declines_the_decline_test_card() -> None:
    client = stripe_client()
    customer = client.v1.customers.create(params={"email": "declined@example.test"})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
            }
        )
    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"


def test_an_email_sent_over_smtp_is_readable_from_mailpit() -> None:
    subject = f"stack check {uuid.uuid4()}"
    message = EmailMessage()
    message["From"] = "shop@cloudmart.test"
    message["To"] = "alice@example.test"
    message["Subject"] = subject
    message.set_content("Your order is confirmed.")
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
        smtp.send_message(message)

    def found() -> list[dict[str, object]]:
        response = httpx.get(
            f"http://127.0.0.1:{MAILPIT_PORT}/api/v1/search",
            params={"query": f'subject:"{subject}"'},
            timeout=5,
        )
        messages: list[dict[str, object]] = response.json()["messages"]
        return messages

    messages = wait_for(found, timeout=10, what="the message in mailpit")
    detail = httpx.get(
        f"http://127.0.0.1:{MAILPIT_PORT}/api/v1/message/{messages[0]['ID']}", timeout=5
    ).json()
    assert detail["To"][0]["Address"] == "alice@example.test"
    assert "Your order is confirmed." in detail["Text"]


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_every_service_answers_health_ready_metrics_and_openapi(service: str) -> None:
    base = service_url(service)
    health = httpx.get(f"{base}/health", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "service": service}
    ready = httpx.get(f"{base}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    metrics = httpx.get(f"{base}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert 'http_requests_total{method="GET",route="/health",status="200"}' in metrics.text
    openapi = httpx.get(f"{base}/openapi.json", timeout=5).json()
    assert {"/health", "/ready"} <= set(openapi["paths"])


def test_the_minimal_profile_leaves_out_only_what_observes_or_injects_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudmart_local import layout
    from cloudmart_local.components import all_components
    from cloudmart_local.secrets import service_environment

    monkeypatch.setattr(layout, "PROFILE_FILE", tmp_path / "profile")
    full = {component.name for component in all_components()}
    assert service_environment("orders")["PRODUCTS_URL"].endswith(":15102")  # via Toxiproxy
    assert "FLAGD_HOST" in service_environment("payments")

    (tmp_path / "profile").write_text("minimal\n")
    minimal = {component.name for component in all_components()}
    assert full - minimal == {"analytics", "prometheus", "toxiproxy", "flagd", "catalog-import"}
    assert minimal < full
    assert set(layout.SERVICE_PORTS) <= minimal
    # Without Toxiproxy and flagd the services talk to each other directly, faults all off.
    assert "PRODUCTS_URL" not in service_environment("orders")
    assert "FLAGD_HOST" not in service_environment("payments")

    (tmp_path / "profile").write_text("nonsense\n")
    assert {component.name for component in all_components()} == full


@pytest.mark.parametrize("database", DATABASES)
def test_no_service_session_sits_idle_in_a_transaction(database: str) -> None:
    """An open transaction holds back vacuum; the outbox relay's leader once kept one for as
    long as it led (its liveness probe was never committed)."""
    stuck = query(
        database,
        "SELECT pid, left(query, 60) AS query FROM pg_stat_activity"
        " WHERE datname = $1 AND state = 'idle in transaction'"
        " AND now() - state_change > interval '10 seconds'",
        database,
    )
    assert stuck == []
