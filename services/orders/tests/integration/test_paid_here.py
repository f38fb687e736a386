"""The consumer's shortcut: a payment success for an order this process marked paid."""

from typing import Any

from cloudmart_common.db import Database, session_factory
from cloudmart_common.stores import create_database_engine
from cloudmart_orders import service as order_service
from cloudmart_orders.consumer import already_handled
from cloudmart_orders.service import OrderService
from cloudmart_orders.settings import Settings


def _service() -> OrderService:
    # Nothing here reaches the database (the engine connects on first use) or an upstream.
    engine = create_database_engine(Settings())
    unused: Any = None
    return OrderService(session_factory(engine), Database(engine), unused, Settings())


def test_only_successes_of_orders_paid_here_are_passed_over() -> None:
    orders = _service()
    orders._note_paid(41)
    settled = already_handled(orders)
    assert settled(b"payment_succeeded", b"41")
    assert not settled(b"payment_succeeded", b"42")  # paid elsewhere, or not yet: looked up
    assert not settled(b"payment_failed", b"41")
    assert not settled(b"payment_succeeded", None)


def test_only_the_latest_orders_are_remembered(monkeypatch: Any) -> None:
    monkeypatch.setattr(order_service, "PAID_HERE_KEPT", 3)
    orders = _service()
    for order_id in range(1, 6):
        orders._note_paid(order_id)
    assert [orders.paid_here(str(n).encode()) for n in range(1, 6)] == [
        False,
        False,
        True,
        True,
        True,
    ]
