"""The policy for every call to something remote: jittered retries around a per-upstream breaker.

Used by the service-to-service HTTP client and by adapters of outside APIs (Stripe), so an
upstream is retried, paused and measured the same way whatever SDK reaches it.
"""

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType

from prometheus_client import Counter, Gauge
from purgatory import AsyncCircuitBreakerFactory, ContextChanged, Event
from purgatory.domain.model import OpenedState
from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from cloudmart_common.errors import ServiceUnavailableError
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

SERVICE_CALLS = Counter(
    "service_calls_total",
    "Attempts at calling another service (a retried call counts each attempt)",
    ["upstream", "method", "outcome"],
)

CIRCUIT_BREAKER_OPEN = Gauge(
    "circuit_breaker_open",
    "1 while calls to the upstream fail fast (open or half-open)",
    ["upstream"],
)

BACKOFF_MULTIPLIER_SECONDS = 0.2  # full jitter: attempt n waits uniform(0, 0.2 * 2**(n-1)) s
BACKOFF_MAX_SECONDS = 2.0


class UpstreamUnavailable(ServiceUnavailableError):
    """Another service did not serve a call: unreachable, too slow, failing, or its circuit open."""

    title, slug = "Upstream service unavailable", "upstream-unavailable"

    def __init__(self, upstream: str, detail: str) -> None:
        super().__init__(detail)
        self.upstream = upstream


class CallPolicy:
    """Retries and the breaker of one upstream; build one per upstream and share it.

    Retries wrap the breaker: every attempt asks the breaker first and counts as one success
    or failure. So the threshold means "N failed requests in a row", an attempt that finds the
    breaker open stops the retries at once (UpstreamUnavailable is never retried) instead of
    sleeping and asking again, and the half-open trial is a single request.

        async for attempt in policy.retrying(attempts, worth_retrying):
            with attempt:
                async with policy.breaker("POST"):
                    return await call()

    Only failures of the upstream may leave the `breaker` block: an answer that says no
    (a 4xx, a declined card) is the upstream working and must be raised after the block.
    """

    def __init__(self, upstream: str, settings: CommonSettings) -> None:
        self.upstream = upstream
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_failure_threshold,
            default_ttl=settings.breaker_recovery_seconds,
            # purgatory counts any exception leaving the block, cancellation included. A
            # caller giving up (a sibling task failed, the client went away) says nothing
            # about this upstream; counted, a payments outage that cancels the parallel
            # products calls would open the products breaker too. Excluded, it counts as a
            # success, the lesser error (at worst it closes a half-open breaker early).
            exclude=[asyncio.CancelledError],
        )
        self._breakers.add_listener(_on_breaker_change)
        self._breaker_of_upstream: AsyncCircuitBreaker | None = None
        CIRCUIT_BREAKER_OPEN.labels(upstream).set(0)

    def retrying(
        self, attempts: int, worth_retrying: Callable[[BaseException], bool]
    ) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_random_exponential(
                multiplier=BACKOFF_MULTIPLIER_SECONDS, max=BACKOFF_MAX_SECONDS
            ),
            retry=retry_if_exception(worth_retrying),
            reraise=True,
        )

    def breaker(self, method: str) -> "_Attempt":
        """One attempt, counted by the breaker; UpstreamUnavailable while it is open."""
        return _Attempt(self, method)

    async def _breaker(self) -> AsyncCircuitBreaker:
        # purgatory's in-memory store hands out the one live state object of the circuit, so
        # the breaker over it is looked up once, not through a unit of work per attempt.
        if self._breaker_of_upstream is None:
            self._breaker_of_upstream = await self._breakers.get_breaker(self.upstream)
        return self._breaker_of_upstream


class _Attempt:
    """`CallPolicy.breaker`'s block, as a class: the gateway enters one per proxied request,
    and a generator-based context manager cost as much as the breaker itself."""

    __slots__ = ("_breaker", "_method", "_policy")

    def __init__(self, policy: CallPolicy, method: str) -> None:
        self._policy = policy
        self._method = method
        self._breaker: AsyncCircuitBreaker | None = None

    async def __aenter__(self) -> None:
        breaker = await self._policy._breaker()
        try:
            await breaker.__aenter__()
        except OpenedState as exc:
            # purgatory raises the same instance for the whole open period, and each raise
            # would lengthen its traceback (and keep every frame on it alive).
            exc.__traceback__ = None
            upstream = self._policy.upstream
            SERVICE_CALLS.labels(upstream, self._method, "breaker_open").inc()
            raise UpstreamUnavailable(
                upstream, f"{upstream} is failing; calls to it are paused (circuit open)"
            ) from None
        self._breaker = breaker

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._breaker is not None  # entered
        await self._breaker.__aexit__(exc_type, exc, tb)


def _on_breaker_change(upstream: str, kind: str, event: Event) -> None:
    if kind != "state_changed" or not isinstance(event, ContextChanged):
        return
    CIRCUIT_BREAKER_OPEN.labels(upstream).set(0 if event.state == "closed" else 1)
    if event.state == "opened":
        log.warning("circuit to %s opened: calls to it fail fast for a while", upstream)
    else:
        log.info("circuit to %s is %s", upstream, event.state)
