"""`cloudmart dlq` against a recorded gateway: what operators see, and the exit codes scripts
rely on. The stack tests (test_redrive.py) run the same CLI against the real gateway."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cloudmart_cli.__main__ import app

RECORD = {
    "id": "0-7",
    "partition": 0,
    "offset": 7,
    "dead_lettered_at": "2026-11-28T05:00:00.000Z",
    "key": "42",
    "event_id": "e-7",
    "event_type": "order_created",
    "original_topic": "orders",
    "original_partition": 1,
    "original_offset": 99,
    "consumer_group": "notification-service-group",
    "error": "ChannelError: SMTP down",
    "attempts": 6,
    "replay_count": 0,
    "max_replays": 3,
    "state": "pending",
    "handled_by": None,
    "handled_at": None,
    "reason": None,
    "replayed_to": None,
}
CONFLICT = {
    "type": "https://cloudmart.dev/problems/dead-letter-handled",
    "title": "Dead letter already handled",
    "status": 409,
    "detail": "record 0-8 was discarded by admin:1 at 2026-11-28T05:01:00Z",
}

Seen = list[httpx.Request]


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """Every request the CLI makes, answered like the gateway would."""
    seen: Seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/api/users/login":
            return httpx.Response(200, json={"access_token": "t0k3n", "token_type": "bearer"})
        if path == "/api/notifications/dlq":
            return httpx.Response(200, json={"items": [RECORD], "next_cursor": "0-7"})
        if path == "/api/notifications/dlq/0-7/replay":
            return httpx.Response(
                200, json=RECORD | {"state": "replayed", "replayed_to": "orders/1/120"}
            )
        if path == "/api/notifications/dlq/0-8/replay":
            problem = {"content-type": "application/problem+json"}
            return httpx.Response(409, json=CONFLICT, headers=problem)
        return httpx.Response(404, json={"title": "Not found", "detail": path})

    real_client: Callable[..., httpx.Client] = httpx.Client

    def client(**kwargs: Any) -> httpx.Client:
        return real_client(transport=httpx.MockTransport(answer), **kwargs)

    monkeypatch.setattr(httpx, "Client", client)
    return seen


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["dlq", *args], env=env or {})


def test_list_logs_in_once_and_prints_a_table_with_the_next_page(gateway: Seen) -> None:
    result = run("list", env={"CLOUDMART_ADMIN_PASSWORD": "from-env"})

    assert result.exit_code == 0, result.output
    assert [r.url.path for r in gateway] == ["/api/users/login", "/api/notifications/dlq"]
    assert json.loads(gateway[0].content) == {"username": "admin", "password": "from-env"}
    assert gateway[1].headers["authorization"] == "Bearer t0k3n"
    assert gateway[1].url.params["status"] == "pending"
    header, row, more = result.output.splitlines()
    assert header.split()[:3] == ["ID", "DEAD-LETTERED", "FROM"]
    assert row.split()[:4] == ["0-7", "2026-11-28T05:00:00.000Z", "orders/1/99", "order_created"]
    assert more == "more: cloudmart dlq list --status pending --cursor 0-7"


def test_a_token_skips_the_login(gateway: Seen) -> None:
    result = run("list", "--json", env={"CLOUDMART_TOKEN": "given"})

    assert result.exit_code == 0, result.output
    assert [r.url.path for r in gateway] == ["/api/notifications/dlq"]
    assert gateway[0].headers["authorization"] == "Bearer given"
    assert json.loads(result.output)["items"][0]["id"] == "0-7"


def test_replay_goes_on_after_a_refusal_and_exits_1_with_the_problem(gateway: Seen) -> None:
    result = run("--token", "t", "replay", "0-8", "0-7", "--reason", "SMTP is back")

    assert result.exit_code == 1
    assert "0-7 replayed to orders/1/120 (replay 1 of at most 3)" in result.stdout
    assert result.stderr.strip() == (
        "error: 0-8: 409 Dead letter already handled: record 0-8 was discarded by admin:1 "
        "at 2026-11-28T05:01:00Z [dead-letter-handled]"
    )
    assert [json.loads(r.content) for r in gateway] == [{"reason": "SMTP is back"}] * 2


def test_a_record_id_cannot_reach_another_route(gateway: Seen) -> None:
    run("--token", "t", "show", "../../users/1")

    assert gateway[0].url.raw_path == b"/api/notifications/dlq/..%2F..%2Fusers%2F1"


def test_no_gateway_is_exit_1_with_the_reason() -> None:
    result = run("--gateway", "http://127.0.0.1:9", "--token", "t", "list")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: Gateway unreachable: GET http://127.0.0.1:9/api/")
