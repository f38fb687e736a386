"""The instances of each service: round-robin, passive health, one breaker per service."""

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Histogram

from cloudmart_common.call_policy import CallPolicy
from cloudmart_gateway.settings import Settings

UPSTREAM_DURATION = Histogram(
    "gateway_upstream_duration_seconds",
    "Time to the upstream's response headers, by service and status class",
    ["service", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


@dataclass
class Instance:
    url: str
    bad_until: float = field(default=0.0)  # monotonic time; skipped before it


class UpstreamPool:
    """One service's instances. A connect failure or timeout quarantines an instance for a
    while (passive health); the breaker counts failed requests of the service as a whole."""

    def __init__(self, service: str, urls: list[str], settings: Settings) -> None:
        if not urls:
            raise ValueError(f"no URL configured for {service}")
        self.service = service
        self.settings = settings
        self.policy = CallPolicy(service, settings)
        self._instances = [Instance(url.rstrip("/")) for url in urls]
        self._turn = itertools.count()
        self._quarantine = settings.instance_quarantine_seconds
        self._durations: dict[str, Any] = {}

    @property
    def instances(self) -> list[Instance]:
        return list(self._instances)

    def candidates(self) -> list[Instance]:
        """Healthy instances in round-robin order, then the quarantined (better than none)."""
        instances = self._instances
        if len(instances) == 1:  # one instance (the local stack, a Service's ClusterIP)
            return instances
        start = next(self._turn) % len(instances)
        ordered = instances[start:] + instances[:start]
        now = time.monotonic()
        return [i for i in ordered if i.bad_until <= now] + [
            i for i in ordered if i.bad_until > now
        ]

    def observe(self, status: int, seconds: float) -> None:
        """Time to the upstream's response headers, by status class."""
        status_class = f"{status // 100}xx"
        histogram = self._durations.get(status_class)
        if histogram is None:  # labels() locks and builds a key: once per class, not per call
            histogram = self._durations[status_class] = UPSTREAM_DURATION.labels(
                self.service, status_class
            )
        histogram.observe(seconds)

    def failed(self, instance: Instance) -> None:
        instance.bad_until = time.monotonic() + self._quarantine

    def succeeded(self, instance: Instance) -> None:
        instance.bad_until = 0.0


def pools(settings: Settings) -> dict[str, UpstreamPool]:
    urls = {
        "users": settings.users_urls,
        "products": settings.products_urls,
        "orders": settings.orders_urls,
        "notifications": settings.notifications_urls,
        "payments": settings.payments_urls,
        "dashboard": settings.dashboard_urls,
    }
    return {service: UpstreamPool(service, u, settings) for service, u in urls.items()}
