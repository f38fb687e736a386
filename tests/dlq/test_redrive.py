"""DLQ redrive against the running stack: a dead letter replayed with the CLI after its fault is
fixed is delivered once; loops stop at the replay limit; discards hide; everything is audited."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cloudmart_common import sealed
from cloudmart_common.events import new_event
from cloudmart_local.secrets import reset_token_key
from tests.accounts import ADMIN_PASSWORD, ADMIN_USERNAME, Account, admin, new_customer
from tests.mailbox import messages_to, wait_for_messages
from tests.stack_control import (
    notification_events,
    publish,
    service_url,
    stopped,
    wait_for,
)

GATEWAY = service_url("gateway")
DLQ = "/api/notifications/dlq"
CLOUDMART = Path(sys.executable).with_name("cloudmart")  # the CLI's installed entry point
# The consumer gives an email 6 attempts over about 16 s of backoff before dead-lettering it.
DEAD_LETTER_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


@pytest.fixture(scope="module")
def gateway() -> httpx.Client:
    return httpx.Client(base_url=GATEWAY, timeout=40)


def cloudmart(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    """`cloudmart dlq ...` as an operator runs it; without a token it logs in itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDMART_")}
    env |= {"CLOUDMART_GATEWAY_URL": GATEWAY}
    if token is not None:
        env["CLOUDMART_TOKEN"] = token
    else:
        env |= {
            "CLOUDMART_ADMIN_USERNAME": ADMIN_USERNAME,
            "CLOUDMART_ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
    return subprocess.run(
        [str(CLOUDMART), "dlq", *args], env=env, capture_output=True, text=True, timeout=90
    )


def token_of(account: Account) -> str:
    return account.headers["Authorization"].removeprefix("Bearer ")


def dead_letters(
    gateway: httpx.Client, staff: Account, event_id: str, status: str = "all"
) -> list[dict[str, Any]]:
    """Every DLQ record of one event (all pages), oldest first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"status": status, "limit": 100}
        if cursor is not None:
            params["cursor"] = cursor
        response = gateway.get(DLQ, params=params, headers=staff.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [item for item in page["items"] if item["event_id"] == event_id]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def dead_letter(
    gateway: httpx.Client, staff: Account, event_id: str, *, replay_count: int = 0
) -> dict[str, Any]:
    """The pending DLQ record of an event with that many replays behind it, once it is there."""

    def pending() -> dict[str, Any] | None:
        return next(
            (
                item
                for item in dead_letters(gateway, staff, event_id, "pending")
                if item["replay_count"] == replay_count
            ),
            None,
        )

    return wait_for(
        pending,
        timeout=DEAD_LETTER_TIMEOUT,
        interval=1.0,
        what=f"event {event_id} in the DLQ after {replay_count} replays",
    )


def audit_of(gateway: httpx.Client, staff: Account, record_id: str) -> list[dict[str, Any]]:
    response = gateway.get(f"{DLQ}/audit", params={"limit": 100}, headers=staff.headers)
    assert response.status_code == 200, response.text
    return [entry for entry in response.json()["items"] if entry["record_id"] == record_id]


def password_reset(email: str) -> dict[str, Any]:
    return new_event(
        "password_reset_requested",
        {
            "user_id": 424242,
            "username": email.split("@")[0],
            "email": email,
            "reset_token": sealed.seal(SecretStr(reset_token_key()), uuid.uuid4().hex),
            "expires_at": "2030-01-01T00:00:00Z",
        },
    )


def test_an_email_dead_lettered_while_smtp_was_down_is_replayed_with_the_cli_and_sent_once(
    gateway: httpx.Client, staff: Account
) -> None:
    email = f"redrive-{uuid.uuid4().hex[:10]}@example.com"
    event = password_reset(email)

    with stopped("mailpit"):
        publish("notifications", "424242", event)
        record = dead_letter(gateway, staff, event["event_id"])
    # The fault is fixed (mailpit is back and healthy): nothing was sent by itself.
    assert messages_to(email) == []
    assert record["original_topic"] == "notifications"
    assert record["attempts"] > 1, "a channel outage is retried before it is dead-lettered"
    assert record["state"] == "pending"
    assert record["replay_count"] == 0

    replayed = cloudmart("replay", record["id"], "--reason", "mailpit is back")

    assert replayed.returncode == 0, replayed.stderr
    assert f"{record['id']} replayed to notifications/" in replayed.stdout
    [found] = wait_for_messages(email, count=1, timeout=60)
    assert "password" in found["Subject"].lower()
    time.sleep(3)  # time enough for a wrong implementation to send a second one
    assert len(messages_to(email)) == 1
    [(_copy, headers)] = notification_events("password_reset_requested", email=email, timeout=20)[
        1:
    ]
    assert headers["dlq_replay_count"] == b"1"
    assert headers["dlq_replayed_from"] == f"notifications-dlq/0/{record['offset']}".encode()

    shown = cloudmart("show", record["id"], "--json", token=token_of(staff))
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["state"] == "replayed"
    assert detail["replayed_to"].startswith("notifications/")
    assert detail["headers"]["dlq_original_topic"] == "notifications"
    assert detail["value"]["event_id"] == event["event_id"]
    assert dead_letters(gateway, staff, event["event_id"], "pending") == []
    assert [r["id"] for r in dead_letters(gateway, staff, event["event_id"], "handled")] == [
        record["id"]
    ]

    again = cloudmart("replay", record["id"], token=token_of(staff))
    assert again.returncode == 1
    assert "409" in again.stderr
    assert "dead-letter-handled" in again.stderr

    entries = audit_of(gateway, staff, record["id"])
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("replay", "refused"),
        ("replay", "replayed"),
    ]
    assert all(e["actor"] == str(staff.user_id) and e["actor_role"] == "admin" for e in entries)
    assert entries[1]["reason"] == "mailpit is back"
    assert entries[1]["event_id"] == event["event_id"]
    assert entries[1]["replayed_to"] == detail["replayed_to"]


def test_a_replay_that_fails_again_returns_with_its_counter_until_the_limit_refuses_it(
    gateway: httpx.Client, staff: Account
) -> None:
    # No template handles this type: the handler's verdict sends it to the DLQ at once.
    event = new_event("parcel_teleported", {"parcel_id": uuid.uuid4().hex})
    publish("notifications", "teleport", event)
    token = token_of(staff)

    record = dead_letter(gateway, staff, event["event_id"])
    limit = record["max_replays"]
    for count in range(limit):
        replayed = cloudmart("replay", record["id"], token=token)
        assert replayed.returncode == 0, replayed.stderr
        record = dead_letter(gateway, staff, event["event_id"], replay_count=count + 1)
        assert "no notification for event type" in record["error"]

    assert record["replay_count"] == limit
    refused = gateway.post(f"{DLQ}/{record['id']}/replay", headers=staff.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/replay-limit-reached")
    assert problem["replay_count"] == limit
    assert problem["max_replays"] == limit
    by_cli = cloudmart("replay", record["id"], token=token)
    assert by_cli.returncode == 1
    assert "replay-limit-reached" in by_cli.stderr
    time.sleep(2)
    assert len(dead_letters(gateway, staff, event["event_id"])) == limit + 1, "no new copy"

    discarded = cloudmart("discard", record["id"], "--yes", "--reason", "unknown type", token=token)

    assert discarded.returncode == 0, discarded.stderr
    assert dead_letters(gateway, staff, event["event_id"], "pending") == []
    listed = cloudmart("list", "--json", "--limit", "100", token=token)
    assert record["id"] not in {item["id"] for item in json.loads(listed.stdout)["items"]}
    shown = gateway.get(f"{DLQ}/{record['id']}", headers=staff.headers).json()
    assert shown["state"] == "discarded"
    assert shown["reason"] == "unknown type"
    twice = gateway.post(f"{DLQ}/{record['id']}/discard", headers=staff.headers)
    assert twice.status_code == 409
    assert twice.json()["type"].endswith("/dead-letter-handled")
    assert [(e["action"], e["outcome"]) for e in audit_of(gateway, staff, record["id"])] == [
        ("discard", "refused"),
        ("discard", "discarded"),
        ("replay", "refused"),
        ("replay", "refused"),
    ]


def test_bad_requests_get_problem_documents(gateway: httpx.Client, staff: Account) -> None:
    def problem(method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
        response = gateway.request(method, path, headers=staff.headers, **kwargs)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = response.json()
        assert body["status"] == status
        assert body["request_id"]
        return body

    assert problem("GET", f"{DLQ}/0-999999999", 404)["type"].endswith("/dead-letter-not-found")
    problem("GET", f"{DLQ}/7-0", 404)  # no such partition
    problem("POST", f"{DLQ}/0-999999999/replay", 404)
    problem("POST", f"{DLQ}/0-999999999/discard", 404)
    problem("GET", f"{DLQ}/zero", 422)
    problem("GET", DLQ, 422, params={"status": "lost"})
    problem("GET", DLQ, 422, params={"cursor": "latest"})
    problem("GET", f"{DLQ}/audit", 422, params={"limit": 0})
    problem("POST", f"{DLQ}/0-0/replay", 422, json={"reason": "two\nlines"})
    problem("POST", f"{DLQ}/0-0/discard", 422, json={"why": "unknown field"})

    missing = cloudmart("show", "0-999999999", token=token_of(staff))
    assert missing.returncode == 1
    assert "404" in missing.stderr
    assert "dead-letter-not-found" in missing.stderr


def test_only_admins_reach_the_dlq(gateway: httpx.Client) -> None:
    customer = new_customer("nosy")
    calls = [
        ("GET", DLQ),
        ("GET", f"{DLQ}/audit"),
        ("GET", f"{DLQ}/0-0"),
        ("POST", f"{DLQ}/0-0/replay"),
        ("POST", f"{DLQ}/0-0/discard"),
    ]
    direct = httpx.Client(base_url=service_url("notifications"), timeout=30)
    for method, path in calls:
        assert gateway.request(method, path).status_code == 401, path
        assert gateway.request(method, path, headers=customer.headers).status_code == 403, path
        # The service refuses on its own too, should a request get past the edge.
        assert direct.request(method, path, headers=customer.headers).status_code == 403, path

    # The edge refuses on its own: a path the service has no route for is 403, not 404.
    assert direct.get(f"{DLQ}/0-0/nowhere", headers=customer.headers).status_code == 404
    assert gateway.get(f"{DLQ}/0-0/nowhere", headers=customer.headers).status_code == 403

    by_cli = cloudmart("list", token=token_of(customer))
    assert by_cli.returncode == 1
    assert "403" in by_cli.stderr
