"""Schemathesis against every service's OpenAPI document, direct and through the gateway (#14).

Every operation of each document is called with requests generated from its own schema, valid
(positive) and invalid (negative: wrong types, out-of-range numbers, odd unicode, NUL bytes,
missing fields), and every answer must be: not a 5xx, a documented status code, the documented
content type (problem+json for errors), a body matching the documented schema, the documented
headers, and invalid data refused with a 4xx. One test per target prints and asserts its figure:
operations tested, cases run, failures (0).

Each operation runs as the most privileged caller it is meant for, so that generated requests
get past authorization to the code behind it: admins on admin and shared routes, a customer
where only a buyer or owner can act, a service token on service-only routes, nobody on open
routes; through the gateway every secured operation is also called without a token.

The fuzzer only changes rows it owns (tests/fuzzing.py).
Bounded: derandomized Hypothesis, a fixed number of examples per operation and mode, no
shrinking; the whole module runs in about a minute (7 targets, about 3,600 requests).
"""

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode

from tests.figures import record
from tests.fuzzing import SERVICES, Case, World, caller, clear_world, confine, make_world
from tests.stack_control import service_url

EXAMPLES = 25  # per operation and generation mode (positive, negative)
ANONYMOUS_EXAMPLES = 3  # per secured operation, through the gateway without a token
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# (method, path) -> why it is not fuzzed: anywhere, or through the gateway only.
EXCLUDED = {
    ("GET", "/api/analytics/stream"): (
        "server-sent events: the answer never ends, so no response to validate; the stream is "
        "tested in services/dashboard"
    ),
}
EXCLUDED_AT_GATEWAY = {
    ("POST", "/api/users/password-reset"): (
        "the gateway allows 5 password resets a minute per client IP, and every suite calls from "
        "127.0.0.1: fuzzing it would refuse other tests' resets for a minute. Fuzzed directly on "
        "the users service (random addresses are unknown there: nothing is mailed)"
    ),
    ("POST", "/api/users/password-reset/confirm"): "the same per-IP password-reset limit",
}


@dataclass(frozen=True)
class Target:
    name: str
    document: str
    base_url: str
    gateway: bool = False


def _direct(name: str) -> Target:
    return Target(name, f"{service_url(name)}/openapi.json", service_url(name))


TARGETS = [
    *(_direct(name) for name in SERVICES),
    Target("gateway", f"{service_url('gateway')}/api/openapi.json", service_url("gateway"), True),
]


@dataclass
class Tally:
    operations: int = 0
    cases: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "2xx" -> answers
    failures: dict[str, str] = field(default_factory=dict)  # distinct failure -> first example

    def fail(self, key: str, example: str) -> None:
        self.failures.setdefault(key, example)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = make_world()
    yield made
    clear_world(made)


# --- the run --------------------------------------------------------------------------------


def _excluded(target: Target, operation: Any) -> bool:
    key = (operation.method.upper(), operation.path)
    return key in EXCLUDED or (target.gateway and key in EXCLUDED_AT_GATEWAY)


def _has_inputs(operation: Any) -> bool:
    return bool(list(operation.iter_parameters())) or len(operation.body) > 0


def _short(text: str, limit: int = 700) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def _run_cases(
    target: Target,
    operation: Any,
    mode: GenerationMode,
    examples: int,
    headers: dict[str, str],
    world: World,
    tally: Tally,
) -> None:
    creates_products = (operation.method.upper(), operation.path) == ("POST", "/api/products")

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases on every run, in CI too
        database=None,
        # Generation health (slow or heavily filtered strategies) is not what is tested here.
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are recorded, not raised
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        confine(case, world, mode)
        tally.cases += 1
        label = f"{operation.label} [{mode.value}]"
        try:
            response = case.call(base_url=target.base_url, headers=headers, timeout=30)
        except requests.RequestException as exc:
            tally.fail(f"{label} transport error {type(exc).__name__}", _short(str(exc)))
            return
        tally.statuses[f"{response.status_code // 100}xx"] += 1
        if creates_products and response.status_code == 201:
            world.created_products.append(response.json()["id"])
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            curl = case.as_curl_command(headers=headers)
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                message = getattr(failure, "message", str(failure))
                tally.fail(
                    f"{label}: {title}",
                    _short(f"{message}\n    got {response.status_code}: {response.text[:300]}")
                    + f"\n    {_short(curl, 400)}",
                )

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            tally.fail(f"{operation.label} [positive]: no valid request could be generated", "")


def fuzz(target: Target, world: World) -> Tally:
    config = SchemathesisConfig.from_dict(
        # Our own tokens authenticate; generated Authorization headers would only be 401s.
        {"generation": {"with-security-parameters": False}}
    )
    schema = schemathesis.openapi.from_url(target.document, config=config, timeout=30)
    tally = Tally()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            tally.fail(f"an operation schemathesis cannot read: {result.err()}", "")
            continue
        operation = result.ok()
        if _excluded(target, operation):
            continue
        tally.operations += 1
        headers = caller(operation, world)
        modes = [GenerationMode.POSITIVE]
        if _has_inputs(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            _run_cases(target, operation, mode, EXAMPLES, headers, world, tally)
        if target.gateway and headers:
            # Without a token: the edge refuses (401) before any service sees the request.
            _run_cases(
                target, operation, GenerationMode.POSITIVE, ANONYMOUS_EXAMPLES, {}, world, tally
            )
    return tally


@pytest.mark.parametrize("target", TARGETS, ids=[target.name for target in TARGETS])
def test_every_operation_answers_as_documented(
    target: Target, world: World, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    tally = fuzz(target, world)
    elapsed = time.monotonic() - started
    answers = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.statuses.items()))
    figure = (
        f"fuzz {target.name}: {tally.operations} operations, {tally.cases} cases ({answers}), "
        f"{len(tally.failures)} failures ({elapsed:.1f} s)"
    )
    print(figure)
    record_property("fuzz_figure", figure)
    record("security figures", figure)
    listing = "\n".join(f"- {key}\n    {example}" for key, example in tally.failures.items())
    assert tally.cases > 0, figure
    assert not tally.failures, f"{figure}\n{listing}"


def test_exclusions_name_real_operations() -> None:
    """An excluded operation that no longer exists would hide nothing: the list stays true."""
    documents = [httpx.get(target.document, timeout=30).json()["paths"] for target in TARGETS]
    operations = {
        (method.upper(), path)
        for paths in documents
        for path, ops in paths.items()
        for method in ops
    }
    stale = (set(EXCLUDED) | set(EXCLUDED_AT_GATEWAY)) - operations
    assert not stale, f"exclusions naming no documented operation: {sorted(stale)}"
