"""Which requests the gateway sends to a second instance after the first dropped them mid-way
(no stack needed: two loopback servers stand in for a service's replicas)."""

import asyncio
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_gateway.proxy import _forward, new_session
from cloudmart_gateway.settings import Settings
from cloudmart_gateway.upstreams import UpstreamPool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]


async def _dropping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A replica killed while it handled the request: read it, then close without an answer."""
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def _send(method: str, headers: dict[str, str]) -> tuple[int, int]:
    """(status relayed, requests the second replica received)."""
    received: list[bytes] = []

    async def answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    settings = Settings()
    async with _server(_dropping) as first, _server(answering) as second:
        pool = UpstreamPool("orders", [first, second], settings)
        pool.candidates = lambda: pool.instances  # type: ignore[method-assign] # first, then second
        session = new_session(settings)
        scope = {"method": method, "path": "/api/orders", "raw_path": b"/api/orders"}
        try:
            await _forward(scope, send, pool, session, b"{}", dict(headers), [])
        except UpstreamUnavailable:
            return 503, len(received)
        finally:
            await session.close()
    return sent[0]["status"], len(received)


@pytest.mark.parametrize(
    ("method", "headers", "resent"),
    [
        ("POST", {"idempotency-key": "k-1"}, True),  # the service deduplicates by the key
        ("GET", {}, True),
        ("PUT", {}, True),
        ("POST", {}, False),  # perhaps applied: a second copy could do it twice
        ("PATCH", {}, False),
    ],
)
def test_a_request_dropped_mid_way_goes_to_another_replica_only_when_safe(
    method: str, headers: dict[str, str], resent: bool
) -> None:
    status, received = asyncio.run(_send(method, headers))
    assert (status, received) == ((201, 1) if resent else (503, 0))
