"""Fault flags: typed, clamped, off whenever they cannot be read, triggers counted and logged."""

import logging
import socket
import threading
import time
import uuid
from typing import Any

import pytest
from openfeature import api
from openfeature.event import ProviderEventDetails
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

from cloudmart_common.fault_flags import (
    FAULT_INJECTIONS,
    FLAG_CACHE_SECONDS,
    NO_FAULTS,
    FaultFlags,
    close_fault_flags,
    open_fault_flags,
)
from cloudmart_common.settings import CommonSettings

# The flagd provider's gRPC connectivity thread raises "Channel closed" when the provider is
# shut down while still connecting: the library's noise at shutdown, not a failure of
# anything tested here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def _flags(**values: Any) -> FaultFlags:
    """FaultFlags over an in-memory provider holding `values` (names with _ for -)."""
    domain = f"test-{uuid.uuid4().hex}"
    provider = InMemoryProvider(
        {
            name.replace("_", "-"): InMemoryFlag("current", {"current": value})
            for name, value in values.items()
        }
    )
    api.set_provider_and_wait(provider, domain)
    return FaultFlags(api.get_client(domain))


def test_without_flagd_every_fault_is_off() -> None:
    flags = open_fault_flags(CommonSettings(flagd_host=None))
    assert flags is NO_FAULTS
    assert flags.payment_failure_percent() == 0
    assert not flags.payment_fails_now()
    assert not flags.payment_unreachable()
    assert not flags.product_catalog_failure()
    assert flags.dynamodb_delay_seconds() == 0
    assert not flags.stalls_consumer()
    assert not flags.notification_channel_down()


def test_flags_are_read_typed() -> None:
    flags = _flags(
        payment_failure_percent=30,
        payment_unreachable=True,
        product_catalog_failure=True,
        slow_dynamodb_ms=1500,
        kafka_consumer_stall=True,
        notification_channel_down=True,
    )
    assert flags.payment_failure_percent() == 30
    assert flags.payment_unreachable()
    assert flags.product_catalog_failure()
    assert flags.dynamodb_delay_seconds() == 1.5
    assert flags.kafka_consumer_stall()
    assert flags.notification_channel_down()


def test_out_of_range_values_are_clamped() -> None:
    assert _flags(payment_failure_percent=250).payment_failure_percent() == 100
    assert _flags(payment_failure_percent=-5).payment_failure_percent() == 0
    assert _flags(slow_dynamodb_ms=-100).dynamodb_delay_seconds() == 0


def test_a_flag_of_the_wrong_type_or_missing_is_off() -> None:
    flags = _flags(payment_unreachable="yes", slow_dynamodb_ms="slow")
    assert not flags.payment_unreachable()
    assert flags.dynamodb_delay_seconds() == 0
    assert not flags.product_catalog_failure()  # not defined at all


def test_payment_failure_percent_fails_about_that_share() -> None:
    assert not any(_flags(payment_failure_percent=0).payment_fails_now() for _ in range(200))
    assert all(_flags(payment_failure_percent=100).payment_fails_now() for _ in range(20))
    half = _flags(payment_failure_percent=50)
    failed = sum(half.payment_fails_now() for _ in range(2000))
    assert 800 < failed < 1200


def test_an_unreachable_flagd_neither_blocks_nor_switches_anything_on() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens here once the socket is closed
    started = time.monotonic()
    flags = open_fault_flags(CommonSettings(flagd_host="127.0.0.1", flagd_port=port))
    try:
        assert time.monotonic() - started < 0.5
        assert not flags.payment_unreachable()
        assert flags.payment_failure_percent() == 0
    finally:
        close_fault_flags(flags)
        # Let gRPC's connectivity poller hit the closed channel inside this test (see above).
        for thread in threading.enumerate():
            if thread.name.endswith("(_run)"):
                thread.join(timeout=2)


def test_triggers_are_counted_every_time_and_logged_at_most_once_a_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flags = _flags()
    fault = f"test-fault-{uuid.uuid4().hex[:6]}"
    with caplog.at_level(logging.WARNING, logger="cloudmart_common.fault_flags"):
        for _ in range(5):
            flags.triggered(fault, "a detail")
    assert FAULT_INJECTIONS.labels(fault)._value.get() == 5
    lines = [r.getMessage() for r in caplog.records if fault in r.getMessage()]
    assert len(lines) == 1
    assert "a detail" in lines[0]


def test_a_flag_change_is_seen_at_once_on_the_providers_event_and_within_a_second_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    domain = f"test-{uuid.uuid4().hex}"
    provider = InMemoryProvider(
        {"payment-unreachable": InMemoryFlag("current", {"current": False})}
    )
    flags_held = provider._flags  # the provider's own copy, changed as a new flag set would
    api.set_provider_and_wait(provider, domain)
    flags = FaultFlags(api.get_client(domain))
    assert not flags.payment_unreachable()

    flags_held["payment-unreachable"] = InMemoryFlag("current", {"current": True})
    assert not flags.payment_unreachable()  # kept: no event yet, and within the second
    provider.emit_provider_configuration_changed(
        ProviderEventDetails(flags_changed=["payment-unreachable"])
    )
    # The event: as soon as OpenFeature's handler thread has run, well within the second.
    deadline = time.monotonic() + FLAG_CACHE_SECONDS / 2
    while not flags.payment_unreachable():
        assert time.monotonic() < deadline, "the provider's event did not reach the flags"
        time.sleep(0.01)

    flags_held["payment-unreachable"] = InMemoryFlag("current", {"current": False})
    later = time.monotonic() + FLAG_CACHE_SECONDS + 0.01
    monkeypatch.setattr("cloudmart_common.fault_flags.time.monotonic", lambda: later)
    assert not flags.payment_unreachable()  # no event: within FLAG_CACHE_SECONDS
