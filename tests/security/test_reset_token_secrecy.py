"""A password-reset token exists in the clear only in its email: never in the users outbox, on
Kafka, in the dead-letter topic, in a log or a trace file (it travels sealed, ADR 0006)."""

import uuid

import httpx

from cloudmart_local.layout import LOGS, TRACES
from tests.accounts import PASSWORD
from tests.mailbox import reset_token_in_email
from tests.stack_control import notification_events, query, service_url, topic_bytes


def test_the_reset_token_is_in_the_email_and_nowhere_else() -> None:
    username = f"secret{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    users, gateway = service_url("users"), service_url("gateway")
    registered = httpx.post(
        f"{users}/api/users/register",
        json={"username": username, "email": email, "password": PASSWORD},
    )
    assert registered.status_code == 201, registered.text
    assert (
        httpx.post(f"{gateway}/api/users/password-reset", json={"email": email}).status_code == 202
    )
    [(event, _headers)] = notification_events("password_reset_requested", email=email)
    token = reset_token_in_email(email)

    assert event["reset_token"] != token  # what travels is sealed
    needle = token.encode()
    for topic in ("notifications", "notifications-dlq"):
        assert not any(needle in value for value in topic_bytes(topic)), topic
    outbox = query("users", "SELECT payload::text AS payload FROM outbox")
    assert not any(token in row["payload"] for row in outbox)
    files = [*LOGS.glob("*.log"), *TRACES.glob("*.jsonl")]
    assert [f.name for f in files if needle in f.read_bytes()] == []
    # And the token is the real one: it sets a new password, once.
    confirm = {"token": token, "new_password": "Brand-New-Horse-7"}
    assert httpx.post(f"{users}/api/users/password-reset/confirm", json=confirm).status_code == 204
