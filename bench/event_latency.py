"""Event latency: an order committed -> its `order_created` on Kafka -> the email in mailpit.

Places orders one after another through the gateway, each by its own new customer, then
reads three clocks of the same machine: the outbox row's commit (`created_at`), the relay's
acknowledged publish (`published_at`), and mailpit's receipt of the order confirmation.
"""

import asyncio
import time
import uuid
from datetime import datetime

import asyncpg
import httpx

from bench.figures import Figure, from_latencies
from bench.shop import GATEWAY, new_customer, order_body, stock_products
from cloudmart_local.layout import MAILPIT_PORT
from cloudmart_local.secrets import service_database_url

MAILPIT = f"http://127.0.0.1:{MAILPIT_PORT}/api/v1"


def _outbox_times(order_ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
    async def run() -> dict[int, tuple[datetime, datetime]]:
        connection = await asyncpg.connect(service_database_url("orders").replace("+asyncpg", ""))
        try:
            rows = await connection.fetch(
                "SELECT (payload->>'order_id')::bigint AS order_id, created_at, published_at"
                " FROM outbox WHERE event_type = 'order_created'"
                " AND (payload->>'order_id')::bigint = ANY($1::bigint[])",
                order_ids,
            )
        finally:
            await connection.close()
        return {
            row["order_id"]: (row["created_at"], row["published_at"])
            for row in rows
            if row["published_at"] is not None
        }

    return asyncio.run(run())


def _email_received(address: str, deadline: float) -> datetime | None:
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{MAILPIT}/search",
            params={"query": f'to:"{address}" subject:"order"', "limit": 10},
            timeout=10,
        ).json()["messages"]
        confirmations = [m for m in found if "is confirmed" in m["Subject"]]
        if confirmations:
            return min(
                datetime.fromisoformat(m["Created"].replace("Z", "+00:00")) for m in confirmations
            )
        time.sleep(0.2)
    return None


def measure(orders: int = 20) -> list[Figure]:
    products = stock_products(count=2)
    placed: list[tuple[int, str]] = []
    with httpx.Client(base_url=GATEWAY, timeout=60) as http:
        for _ in range(orders):
            buyer = new_customer(http)
            response = http.post(
                "/api/orders",
                json=order_body([(product, 1) for product in products]),
                headers=buyer.headers | {"Idempotency-Key": uuid.uuid4().hex},
            )
            response.raise_for_status()
            placed.append((response.json()["id"], buyer.email))
    deadline = time.monotonic() + 60
    received = {order: _email_received(email, deadline) for order, email in placed}
    times = _outbox_times([order for order, _ in placed])
    to_kafka: list[float] = []
    to_email: list[float] = []
    for order, _ in placed:
        if order in times and received[order] is not None:
            committed, published = times[order]
            to_kafka.append((published - committed).total_seconds())
            to_email.append((received[order] - committed).total_seconds())  # type: ignore[operator]
    missing = orders - len(to_email)
    figures = [
        from_latencies("event: commit -> on Kafka", "events", to_kafka, 1.0, errors=missing),
        from_latencies(
            "event: commit -> email in mailpit", "events", to_email, 1.0, errors=missing
        ),
    ]
    for figure in figures:
        figure.throughput = None  # one order at a time: a latency, not a rate
        figure.note = f"{orders} orders placed one at a time"
    return figures


def main() -> None:
    for figure in measure():
        print(figure)


if __name__ == "__main__":
    main()
