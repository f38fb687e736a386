"""The SMTP sink (mailpit) as tests read it: messages to an address, their text and headers."""

import re
from typing import Any

import httpx

from cloudmart_local.layout import MAILPIT_PORT
from tests.stack_control import wait_for

API = f"http://127.0.0.1:{MAILPIT_PORT}/api/v1"


def messages_to(address: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{API}/search", params={"query": f'to:"{address}"', "limit": 200})
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def wait_for_messages(address: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
    return wait_for(
        lambda: found if len(found := messages_to(address)) >= count else None,
        timeout=timeout,
        interval=0.5,
        what=f"{count} message(s) to {address}",
    )


def message(message_id: str) -> dict[str, Any]:
    """Text, HTML, subject ... of one message."""
    response = httpx.get(f"{API}/message/{message_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def headers(message_id: str) -> dict[str, list[str]]:
    response = httpx.get(f"{API}/message/{message_id}/headers")
    response.raise_for_status()
    found: dict[str, list[str]] = response.json()
    return found


def reset_token_in_email(address: str) -> str:
    """The password-reset token as its owner gets it: from the link in the email (the only
    place it exists in the clear, ADR 0006)."""
    [summary] = wait_for_messages(address)
    text = str(message(summary["ID"])["Text"])
    found = re.search(r"reset-password\?token=(\S+)", text)
    assert found is not None, text
    return found.group(1)
