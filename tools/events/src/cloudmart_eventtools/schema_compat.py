"""Fails on an event schema change that consumers cannot survive (the rules: ADR 0018).

`python -m cloudmart_eventtools.schema_compat` compares each `event_schemas/*.schema.json` with its
previous committed version: the working tree against HEAD when the file has uncommitted changes,
otherwise HEAD against the parent of the last commit that touched it. It exits 1 when a change is
incompatible. No git, a shallow clone or a new file means nothing to compare: reported, passed.

Consumers validate every record against their own copy of the schema (kafka_consumer.py), topics
keep 7 to 30 days and the DLQ replays old records; so an old consumer must accept new events and a
new consumer must accept retained old ones. Hence: validation keywords of existing fields are
frozen, fields are never removed, `required` never changes; an optional field may be added; and
an incompatible change is made as a new `event_version` branch beside the kept old one.
"""

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudmart_eventtools.asyncapi import schemas_dir

VERSION_FIELD = "event_version"
# Lets a version be dropped once no retained record or DLQ entry can still carry it.
RETIRED_VERSIONS = "x-retired-versions"
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        RETIRED_VERSIONS,
    }
)
# Handled structurally below; every other keyword must stay exactly as it was.
_STRUCTURAL = frozenset({"type", "enum", "required", "properties", "items", "additionalProperties"})


@dataclass(frozen=True)
class Incompatibility:
    schema: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.schema}: {self.where or '(root)'}: {self.reason}"


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return frozenset([declared] if isinstance(declared, str) else declared)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _compare_node(old: Any, new: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if _canonical(old) != _canonical(new):
            return [(where, f"schema changed from {_canonical(old)} to {_canonical(new)}")]
        return []
    problems: list[tuple[str, str]] = []
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        problems.append((where, f"type changed from {_show(old_types)} to {_show(new_types)}"))
    if "enum" in old or "enum" in new:
        before = {_canonical(v) for v in old.get("enum", [])} if "enum" in old else None
        after = {_canonical(v) for v in new.get("enum", [])} if "enum" in new else None
        if before is None or after is None:
            problems.append((where, "enum added" if before is None else "enum removed"))
        elif before != after:
            if before - after:
                problems.append((where, f"enum narrowed: {sorted(before - after)} removed"))
            if after - before:
                problems.append((where, f"enum widened: {sorted(after - before)} added"))
    for keyword in sorted((set(old) | set(new)) - ANNOTATIONS - _STRUCTURAL):
        if keyword not in new:
            problems.append((where, f"{keyword} removed (was {_canonical(old[keyword])})"))
        elif keyword not in old:
            problems.append((where, f"{keyword} added ({_canonical(new[keyword])})"))
        elif _canonical(old[keyword]) != _canonical(new[keyword]):
            problems.append(
                (
                    where,
                    f"{keyword} changed from {_canonical(old[keyword])} "
                    f"to {_canonical(new[keyword])}",
                )
            )
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name in sorted(old_required - new_required):
        problems.append((where, f"{name!r} is no longer required: old consumers rely on it"))
    for name in sorted(new_required - old_required):
        problems.append((where, f"{name!r} became required: retained events lack it"))
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    if isinstance(old_extra, dict) and isinstance(new_extra, dict):
        problems += _compare_node(old_extra, new_extra, f"{where}/additionalProperties")
    elif _canonical(old_extra) != _canonical(new_extra):
        problems.append(
            (
                where,
                f"additionalProperties changed from {_canonical(old_extra)} "
                f"to {_canonical(new_extra)}",
            )
        )
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    for name, schema in old_properties.items():
        if name not in new_properties:
            problems.append((where, f"property {name!r} removed (or renamed)"))
        else:
            problems += _compare_node(schema, new_properties[name], f"{where}/{name}")
    if old_extra is not True:
        for name in sorted(set(new_properties) - set(old_properties)):
            problems.append(
                (where, f"property {name!r} added where additionalProperties was closed")
            )
    if "items" in old or "items" in new:
        problems += _compare_node(old.get("items", True), new.get("items", True), f"{where}[]")
    return problems


def _show(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _pinned_version(branch: Any) -> int | None:
    if not isinstance(branch, dict):
        return None
    pinned = branch.get("properties", {}).get(VERSION_FIELD, {})
    value = pinned.get("const") if isinstance(pinned, dict) else None
    return value if isinstance(value, int) else None


def versions(schema: dict[str, Any]) -> dict[int | None, dict[str, Any]]:
    """The schema's branches by pinned `event_version`; {None: schema} when it pins none."""
    branches = schema.get("oneOf")
    if isinstance(branches, list) and branches:
        pinned = {_pinned_version(branch): branch for branch in branches}
        if None not in pinned and len(pinned) == len(branches):
            return {version: _unpinned(branch) for version, branch in pinned.items()}
    return {None: schema}


def _unpinned(branch: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in branch.get("properties", {}).items() if k != VERSION_FIELD}
    required = [name for name in branch.get("required", []) if name != VERSION_FIELD]
    return {**branch, "properties": properties, "required": required}


def _envelope_free(schema: dict[str, Any]) -> dict[str, Any]:
    # The top level of a versioned schema is only the oneOf and annotations.
    return {k: v for k, v in schema.items() if k != "oneOf"}


def compare(
    old: dict[str, Any], new: dict[str, Any], *, name: str = "schema"
) -> list[Incompatibility]:
    """Every reason why consumers of `old` could not live with `new` (empty: compatible)."""
    old_versions, new_versions = versions(old), versions(new)
    problems: list[tuple[str, str]] = []
    if set(old_versions) == {None} and set(new_versions) == {None}:
        problems = _compare_node(old, new, "")
    elif set(new_versions) == {None}:
        problems = [("", "versioned branches collapsed into one unversioned schema")]
    else:
        retired = set(new.get(RETIRED_VERSIONS, []))
        if None in old_versions:
            # The unversioned schema is what every event so far had: it lives on as the
            # lowest version branch.
            lowest = min(v for v in new_versions if v is not None)
            old_versions = {lowest: old_versions[None]}
        else:
            problems += _compare_node(_envelope_free(old), _envelope_free(new), "")
        for version, branch in sorted(old_versions.items(), key=lambda item: item[0] or 0):
            where = f"{VERSION_FIELD}={version}"
            if version in new_versions:
                problems += _compare_node(branch, new_versions[version], where)
            elif version not in retired:
                problems.append((where, f"version dropped (list it in {RETIRED_VERSIONS})"))
        newest = max((v for v in old_versions if v is not None), default=0)
        for version in sorted(v for v in new_versions if v is not None):
            if version not in old_versions and version < newest:
                problems.append((f"{VERSION_FIELD}={version}", "a new version must be higher"))
    return [Incompatibility(name, where, reason) for where, reason in problems]


@dataclass(frozen=True)
class Baseline:
    text: str | None  # None: nothing to compare with
    source: str


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def baseline(root: Path, relative: str) -> Baseline:
    """The previous committed version of `relative` (a path inside the repository `root`)."""
    status = _git(root, "status", "--porcelain", "--", relative)
    if status is None:
        return Baseline(None, "no git repository")
    if status.strip():
        return Baseline(_git(root, "show", f"HEAD:{relative}"), "HEAD")
    last = (_git(root, "log", "-n", "1", "--format=%H", "--", relative) or "").strip()
    if not last:
        return Baseline(None, "never committed")
    # Absent in the parent: the file was added by that commit, or history is cut (shallow).
    return Baseline(_git(root, "show", f"{last}^:{relative}"), f"{last[:12]}^")


@dataclass(frozen=True)
class FileReport:
    file: str
    source: str
    problems: list[Incompatibility]


def check_directory(directory: Path) -> list[FileReport]:
    directory = directory.resolve()
    top = _git(directory, "rev-parse", "--show-toplevel")
    root = Path(top.strip()) if top else directory
    prefix = directory.relative_to(root).as_posix() if top else ""
    names = {path.name for path in directory.glob("*.schema.json")}
    if top:
        tracked = _git(root, "ls-tree", "--name-only", "HEAD", f"{prefix}/") or ""
        names |= {Path(line).name for line in tracked.splitlines() if line.endswith(".schema.json")}
    reports: list[FileReport] = []
    for name in sorted(names):
        relative = f"{prefix}/{name}" if prefix else name
        previous = baseline(root, relative) if top else Baseline(None, "no git repository")
        current = directory / name
        if previous.text is None:
            reports.append(FileReport(name, f"no earlier version: {previous.source}", []))
            continue
        if not current.exists():
            problem = Incompatibility(name, "", "schema removed: its consumers lose their contract")
            reports.append(FileReport(name, f"against {previous.source}", [problem]))
            continue
        problems = compare(json.loads(previous.text), json.loads(current.read_text()), name=name)
        reports.append(FileReport(name, f"against {previous.source}", problems))
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudmart_eventtools.schema_compat", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--schemas", type=Path, default=schemas_dir())
    args = parser.parse_args(argv)
    failed = False
    for report in check_directory(args.schemas):
        verdict = "INCOMPATIBLE" if report.problems else "ok"
        print(f"{report.file}: {verdict} ({report.source})")
        for problem in report.problems:
            print(f"  {problem.where or '(root)'}: {problem.reason}")
        failed = failed or bool(report.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
