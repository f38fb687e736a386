"""Named faults switched at run time through OpenFeature and flagd (ADR 0020, docs/resilience.md).

Evaluation is in-process: the flagd provider keeps the flag set it streams from flagd's sync
API and evaluates locally. An OpenFeature evaluation still runs hooks and merges contexts (an
eighth of a cached product read's CPU, ADR 0017), so each flag's value is kept for at most
FLAG_CACHE_SECONDS and forgotten at once on any provider event (a new flag set, ready, error,
stale): with no flag set, an accessor on the hot path is a dictionary lookup.
Every failure mode answers "fault off": no FLAGD_HOST (the cloud), flagd not up yet, flagd gone
(the provider keeps the last flag set it had), a flag missing or of the wrong type.
"""

import logging
import random
import threading
import time
from typing import Any, cast

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.event import EventDetails, ProviderEvent
from prometheus_client import Counter

from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

DOMAIN = "cloudmart-faults"
PAYMENT_FAILURE_PERCENT = "payment-failure-percent"
PAYMENT_UNREACHABLE = "payment-unreachable"
PRODUCT_CATALOG_FAILURE = "product-catalog-failure"
SLOW_DYNAMODB_MS = "slow-dynamodb-ms"
KAFKA_CONSUMER_STALL = "kafka-consumer-stall"
NOTIFICATION_CHANNEL_DOWN = "notification-channel-down"

FAULT_INJECTIONS = Counter(
    "fault_injections_total", "Requests or calls a fault flag made fail or slow", ["fault"]
)
# Under load a fault triggers hundreds of times a second: one log line a second per fault,
# with the count since the last one, says the same without drowning the log.
LOG_INTERVAL_SECONDS = 1.0
# The longest a flag change can take to reach a service whose provider missed the event.
FLAG_CACHE_SECONDS = 1.0


class FaultFlags:
    """Typed accessors of the named faults; every one is "off" without a provider."""

    def __init__(self, client: OpenFeatureClient | None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._unlogged: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}
        self._values: dict[str, tuple[float, Any]] = {}  # flag -> (valid until, value)
        if client is not None:
            for event in ProviderEvent:
                client.add_handler(event, self._forget)

    def _forget(self, _details: EventDetails) -> None:
        self._values = {}  # replaced, not cleared: a reader mid-lookup keeps a whole dict

    def payment_failure_percent(self) -> int:
        return min(max(self._integer(PAYMENT_FAILURE_PERCENT), 0), 100)

    def payment_fails_now(self) -> bool:
        """One draw against payment-failure-percent: True for that share of calls."""
        percent = self.payment_failure_percent()
        # Not a secret: a share of declines for a demo, so the plain PRNG is right.
        return percent > 0 and random.uniform(0, 100) < percent

    def payment_unreachable(self) -> bool:
        return self._boolean(PAYMENT_UNREACHABLE)

    def product_catalog_failure(self) -> bool:
        return self._boolean(PRODUCT_CATALOG_FAILURE)

    def dynamodb_delay_seconds(self) -> float:
        return max(self._integer(SLOW_DYNAMODB_MS), 0) / 1000

    def kafka_consumer_stall(self) -> bool:
        return self._boolean(KAFKA_CONSUMER_STALL)

    def stalls_consumer(self) -> bool:
        """kafka-consumer-stall, counted as a trigger while on (a consumer asks once a poll)."""
        if not self.kafka_consumer_stall():
            return False
        self.triggered(KAFKA_CONSUMER_STALL, "consumer paused, fetching nothing")
        return True

    def notification_channel_down(self) -> bool:
        return self._boolean(NOTIFICATION_CHANNEL_DOWN)

    def triggered(self, fault: str, detail: str) -> None:
        """Count a fault that acted, and log it (at most once a second per fault)."""
        FAULT_INJECTIONS.labels(fault).inc()
        now = time.monotonic()
        with self._lock:
            count = self._unlogged.get(fault, 0) + 1
            if now - self._logged_at.get(fault, float("-inf")) < LOG_INTERVAL_SECONDS:
                self._unlogged[fault] = count
                return
            self._unlogged[fault] = 0
            self._logged_at[fault] = now
        log.warning(
            "fault injected: %s (%s; %d time(s) since the last line)",
            fault,
            detail,
            count,
            extra={"fault": fault},
        )

    def _boolean(self, key: str) -> bool:
        return bool(self._value(key, False))

    def _integer(self, key: str) -> int:
        value = self._value(key, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def _value(self, key: str, default: bool | int) -> bool | int:
        if self._client is None:
            return default
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is not None and kept[0] > now:
            return cast(bool | int, kept[1])
        value: bool | int
        try:
            if isinstance(default, bool):
                value = self._client.get_boolean_value(key, default)
            else:
                value = self._client.get_integer_value(key, default)
        except Exception:  # a flag system must never fail the request it is asked about
            log.debug("fault flag %s not evaluated", key, exc_info=True)
            value = default
        self._values[key] = (now + FLAG_CACHE_SECONDS, value)
        return value


NO_FAULTS = FaultFlags(None)


def open_fault_flags(settings: CommonSettings) -> FaultFlags:
    """Start following flagd where one is configured; returns at once (flags off until synced).

    The provider connects in the background and reconnects by itself: a service must start and
    serve whether or not flagd is there.
    """
    if not settings.flagd_host:
        return NO_FAULTS
    provider = FlagdProvider(
        resolver_type=ResolverType.IN_PROCESS,
        host=settings.flagd_host,
        port=settings.flagd_port,
        deadline_ms=500,
        # A flag change must reach the services within seconds, also after flagd restarted.
        retry_backoff_ms=500,
        retry_backoff_max_ms=2000,
    )
    api.set_provider(provider, domain=DOMAIN)
    log.info("fault flags from flagd at %s:%d", settings.flagd_host, settings.flagd_port)
    return FaultFlags(api.get_client(DOMAIN))


def close_fault_flags(flags: FaultFlags) -> None:
    if flags is not NO_FAULTS:
        api.shutdown()
