"""deploy/scripts/bump_image_tags.py, run as the images workflow runs it, on temporary files."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .tools import ROOT

SCRIPT = ROOT / "deploy" / "scripts" / "bump_image_tags.py"
SHA = "3f2c9d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
DIGITS = "1234567"  # a short SHA that plain YAML would read as the integer 1234567

VALUES = """\
# Production values: read by Argo CD.
global:
  environment: prod   # shown in dashboards

image:
  registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/cloudmart
  # Bumped by CI on every push to main.
  tag: "0000000"  # the commit SHA
  pullPolicy: IfNotPresent

services:
  gateway:
    replicas: 2
    image:
      tag: ""
  orders:
    notes: |
      tag: not-a-key (inside a block scalar)
    image:
      repository: orders
      tag: 'v1.2.3'
  users:
    replicas: 2
  payments:
    image: {tag: "0.1.0", pullPolicy: Always}  # flow style, as the chart's values files use

analytics:
  image:
    repository: cloudmart/analytics
    tag: "0.1.0"
"""


def run(values: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--values", str(values), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def values_file(tmp_path: Path, text: str = VALUES) -> Path:
    path = tmp_path / "values-prod.yaml"
    path.write_bytes(text.encode())
    return path


def dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new), "lines were added or removed"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_bumps_the_default_tag_and_nothing_else(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    result = run(path, "--tag", SHA)
    assert result.returncode == 0, result.stderr
    after = path.read_bytes().decode()
    # One line changed, its quotes, comment and spacing kept; every other byte identical.
    assert changed_lines(VALUES, after) == [
        ('  tag: "0000000"  # the commit SHA\n', f'  tag: "{SHA}"  # the commit SHA\n')
    ]
    document = yaml.safe_load(after)
    assert document["image"]["tag"] == SHA
    # Overrides are deliberate pins: untouched.
    services = document["services"]
    assert [services[s]["image"]["tag"] for s in ("gateway", "orders", "payments")] == [
        "",
        "v1.2.3",
        "0.1.0",
    ]
    assert document["analytics"]["image"]["tag"] == "0.1.0"
    assert result.stdout.strip().endswith("image.tag '0000000' -> '" + SHA + "'")


def test_bumps_the_real_values_files(tmp_path: Path) -> None:
    # The chart's own values files all carry image.tag; only that line changes.
    for name in ("values.yaml", "values-dev.yaml", "values-prod.yaml"):
        source = (ROOT / "deploy" / "helm" / "cloudmart" / name).read_text()
        path = values_file(tmp_path, source)
        result = run(path, "--tag", SHA)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        after = path.read_text()
        assert len(changed_lines(source, after)) == 1, name
        assert dig(yaml.safe_load(after), "image", "tag") == SHA, name


def test_idempotent(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    assert run(path, "--tag", SHA).returncode == 0
    once = path.read_bytes()
    second = run(path, "--tag", SHA)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("already") == 1
    assert path.read_bytes() == once


def test_numeric_looking_sha_stays_a_string(tmp_path: Path) -> None:
    text = VALUES.replace('tag: "0000000"  # the commit SHA', "tag: latest")
    path = values_file(tmp_path, text)
    assert run(path, "--tag", DIGITS, "--service", "gateway").returncode == 0
    assert run(path, "--tag", DIGITS).returncode == 0
    after = path.read_text()
    assert f'  tag: "{DIGITS}"\n' in after
    document = yaml.safe_load(after)
    assert document["image"]["tag"] == DIGITS  # not the int 1234567
    assert document["services"]["gateway"]["image"]["tag"] == DIGITS


def test_null_tag_gets_a_value(tmp_path: Path) -> None:
    text = VALUES.replace('tag: "0000000"  # the commit SHA', "tag:")
    path = values_file(tmp_path, text)
    assert run(path, "--tag", SHA).returncode == 0
    assert changed_lines(text, path.read_text())[0] == ("  tag:\n", f'  tag: "{SHA}"\n')


def test_per_service_override(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    result = run(path, "--tag", "v1.3.0-rc.1", "--service", "orders")
    assert result.returncode == 0, result.stderr
    after = path.read_text()
    # Single quotes stay single quotes; the default tag and the block scalar are untouched.
    assert changed_lines(VALUES, after) == [("      tag: 'v1.2.3'\n", "      tag: 'v1.3.0-rc.1'\n")]
    document = yaml.safe_load(after)
    assert document["services"]["orders"]["image"]["tag"] == "v1.3.0-rc.1"
    assert document["image"]["tag"] == "0000000"


def test_per_service_flow_mapping_and_analytics(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    assert run(path, "--tag", SHA, "--service", "payments").returncode == 0
    assert run(path, "--tag", SHA, "--service", "analytics").returncode == 0
    lines = changed_lines(VALUES, path.read_text())
    assert [new for _, new in lines] == [
        f'    image: {{tag: "{SHA}", pullPolicy: Always}}'
        "  # flow style, as the chart's values files use\n",
        f'    tag: "{SHA}"\n',
    ]


def test_per_service_empty_override(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    assert run(path, "--tag", SHA, "--service", "gateway").returncode == 0
    assert changed_lines(VALUES, path.read_text()) == [('      tag: ""\n', f'      tag: "{SHA}"\n')]


def test_crlf_file_keeps_its_line_endings(tmp_path: Path) -> None:
    text = VALUES.replace("\n", "\r\n")
    path = values_file(tmp_path, text)
    assert run(path, "--tag", SHA).returncode == 0
    after = path.read_bytes().decode()
    assert after.count("\r\n") == text.count("\r\n") == len(after.splitlines())
    assert f'  tag: "{SHA}"  # the commit SHA\r\n' in after


@pytest.mark.parametrize(
    "tag",
    [
        "abc123",  # 6 hex: too short
        "3F2C9D1",  # git prints lowercase
        SHA + "0",  # 41 characters
        "latest",  # mutable, and ECR tags are immutable
        "1.2",
        "1.2.3+build.7",  # '+' is not allowed in an image tag
        "sha; rm -rf /",
        "",
    ],
)
def test_rejects_a_bad_tag(tmp_path: Path, tag: str) -> None:
    path = values_file(tmp_path)
    result = run(path, "--tag", tag)
    assert result.returncode == 1
    assert "invalid tag" in result.stderr
    assert path.read_text() == VALUES


@pytest.mark.parametrize("tag", ["abc1234", SHA, "1.4.0", "v1.4.0", "v2.0.0-rc.1"])
def test_accepts_shas_and_semver(tmp_path: Path, tag: str) -> None:
    path = values_file(tmp_path)
    assert run(path, "--tag", tag).returncode == 0
    assert yaml.safe_load(path.read_text())["image"]["tag"] == tag


def test_missing_service_is_an_error(tmp_path: Path) -> None:
    path = values_file(tmp_path)
    result = run(path, "--tag", SHA, "--service", "shipping")
    assert result.returncode == 1
    assert "key services.shipping not found" in result.stderr
    assert path.read_text() == VALUES


def test_missing_tag_key_is_an_error(tmp_path: Path) -> None:
    # users has no image block: an override is refused, never added.
    path = values_file(tmp_path)
    result = run(path, "--tag", SHA, "--service", "users")
    assert result.returncode == 1
    assert "key services.users.image not found" in result.stderr
    text = VALUES.replace("      tag: 'v1.2.3'\n", "")
    path.write_text(text)
    result = run(path, "--tag", SHA, "--service", "orders")
    assert result.returncode == 1
    assert "key services.orders.image.tag not found" in result.stderr
    assert path.read_text() == text


def test_nested_tags_are_not_the_default_one(tmp_path: Path) -> None:
    # A tag nested anywhere else (here under `other`) is not image.tag: refused, not bumped.
    text = "image:\n  registry: r\nother:\n  image:\n    tag: abc1234\n"
    path = values_file(tmp_path, text)
    result = run(path, "--tag", SHA)
    assert result.returncode == 1
    assert "key image.tag not found" in result.stderr
    assert path.read_text() == text


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = values_file(tmp_path, VALUES + "image:\n  tag: abc1234\n")
    result = run(path, "--tag", SHA, "--service", "gateway")
    assert result.returncode == 0  # the duplicate is elsewhere
    result = run(path, "--tag", SHA)
    assert result.returncode == 1
    assert (
        f"key image appears more than once (lines 5, {len(VALUES.splitlines()) + 1})"
        in result.stderr
    )


def test_unsupported_layouts_are_refused(tmp_path: Path) -> None:
    for text, message in [
        ("services: {gateway: {image: {tag: abc1234}}}\n", "services must be a block mapping"),
        ("image: {tag: [abc1234]}\n", "image must be a block mapping"),
        ("image:\n  tag:\n    nested: 1\n", "image.tag spans several lines"),
        ("image:\n  tag: |\n    abc1234\n", "image.tag spans several lines"),
    ]:
        path = values_file(tmp_path, text)
        result = run(path, "--tag", SHA, *(["--service", "gateway"] if "services" in text else []))
        assert result.returncode == 1, text
        assert message in result.stderr, (text, result.stderr)
        assert path.read_text() == text


def test_missing_file_and_bad_service_name(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.yaml", "--tag", SHA)
    assert result.returncode == 1
    assert "no such file" in result.stderr
    bad = run(values_file(tmp_path), "--tag", SHA, "--service", "../x")
    assert bad.returncode == 2
    assert "invalid service name" in bad.stderr
