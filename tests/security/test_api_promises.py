"""The API keeps its promises: schemathesis with every check on the gateway's combined OpenAPI
document, run as users run it (`st run --checks all`), once as an admin and once as a customer.

Besides what tests/security/test_fuzz.py checks (no 5xx, documented statuses, content types,
schemas and headers, invalid data refused), every check includes: schema-valid requests
accepted, undeclared methods answered 405 with an `Allow` header, `Allow` naming exactly the
documented methods, missing required headers refused, and authentication enforced where
declared. Its coverage phase also sends the boundary values of every constraint.

Generated requests stay on rows the fuzzer owns (tests/fuzzing.py, through the hooks in
tests/security/promise_hooks.py). What is left out is listed case by case, with the reason, in
tests/security/schemathesis.toml. Bounded: a fixed seed, deterministic generation and a fixed
number of examples per operation.
"""

import os
import re
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloudmart_local.layout import ROOT, VENV_BIN
from tests.figures import record
from tests.fuzzing import World, clear_world, make_world
from tests.stack_control import service_url

DOCUMENT = f"{service_url('gateway')}/api/openapi.json"
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 20  # per operation in the fuzzing phase; the coverage phase adds its own cases
SEED = 20261207


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    made = make_world()
    yield made
    clear_world(made)


def _failures(report: Path) -> list[str]:
    """`<operation>: <failure>` for every failed check in the JUnit report."""
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 - written by st here
        for failure in [*case.iter("failure"), *case.iter("error")]:
            text = f"{failure.get('message') or ''} {failure.text or ''}".strip()
            found.append(f"{case.get('name')}: {text[:1500]}")
    return found


@pytest.mark.parametrize("who", ["admin", "customer"])
def test_the_gateway_keeps_every_promise(who: str, world: World, tmp_path: Path) -> None:
    caller = world.admin if who == "admin" else world.customer
    report, created = tmp_path / "junit.xml", tmp_path / "created-products"
    created.touch()
    run = subprocess.run(
        [
            str(VENV_BIN / "st"),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            DOCUMENT,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        cwd=ROOT,
        env=os.environ
        | {
            "SCHEMATHESIS_HOOKS": "tests.security.promise_hooks",
            "CLOUDMART_FUZZ_WORLD": world.to_json(),
            "CLOUDMART_FUZZ_CREATED": str(created),
            "CLOUDMART_FUZZ_TOKEN": caller.headers["Authorization"].removeprefix("Bearer "),
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    world.created_products.extend(int(line) for line in created.read_text().split())
    summary = run.stdout.strip().splitlines()[-1:] or [run.stderr[-500:]]
    cases = re.search(r"(\d+) generated", run.stdout)
    failures = _failures(report) if report.exists() else [f"no report: {run.stderr[-2000:]}"]
    figure = (
        f"schemathesis --checks all on the gateway as {who}: "
        f"{cases[1] if cases else '?'} cases, {len(failures)} failures ({summary[0].strip('= ')})"
    )
    print(figure)
    record("security figures", figure)
    assert cases, run.stdout[-3000:] + run.stderr[-3000:]
    assert failures == [], "\n".join([figure, *failures])


def test_every_exclusion_names_a_documented_operation() -> None:
    """An exclusion matching nothing would hide nothing: the list stays true."""
    paths = httpx.get(DOCUMENT, timeout=30).json()["paths"]
    for entry in tomllib.loads(CONFIG.read_text())["operations"]:
        matched = [
            f"{method.upper()} {path}"
            for path, operations in paths.items()
            for method in operations
            if path == entry.get("include-path", path)
            and re.search(entry.get("include-path-regex", ""), path)
            and f"{method.upper()} {path}" == entry.get("include-name", f"{method.upper()} {path}")
        ]
        assert matched, f"an exclusion in {CONFIG.name} names no documented operation: {entry}"
