#!/usr/bin/env python3
"""Set an image tag in a Helm values file, changing nothing but that one scalar.

The images workflow runs this after pushing images tagged with the commit SHA; the commit it
makes is what Argo CD syncs (GitOps). The chart reads `image.tag` as every image's tag, with
optional overrides `services.<name>.image.tag` and `analytics.image.tag` (the Flink job).

    bump_image_tags.py --values deploy/helm/cloudmart/values-prod.yaml --tag <sha>
    bump_image_tags.py --values ... --tag <sha> --service orders

Without --service only `image.tag` is set: an override is a deliberate pin and stays. With
--service only that override is set. Either key must exist: the script never adds keys.

Why a line-based edit and not load + dump: a YAML round trip through PyYAML drops comments and
reorders keys, which would turn every bump into a noisy diff of a hand-written file. So the key
is located by walking block-mapping indentation, only its value is rewritten (quoted, so a SHA
of digits such as 1234567 or 1e10000 never becomes a number), and then, when PyYAML is
available, both versions are parsed to prove that exactly that one value changed.

Exit status: 0 when the file holds the tag (changed or already so), 1 on any error, 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A git commit SHA (short or full, lowercase as git prints it) or a semantic version. No `+build`
# metadata: `+` is not allowed in an OCI image tag.
SHA_RE = re.compile(r"[0-9a-f]{7,40}")
SEMVER_RE = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)
SERVICE_RE = re.compile(r"[a-z][a-z0-9-]*")
# `key: rest` in block style; the key may be quoted. Flow mappings are not supported.
KEY_RE = re.compile(
    r"""^(?P<indent>[ ]*)(?P<key>"[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)[ ]*:(?:[ ]+|$)(?P<rest>.*)$"""
)


class BumpError(Exception):
    """A problem with the values file or the request, reported without a traceback."""


@dataclass(frozen=True)
class Bump:
    path: tuple[str, ...]
    old: str | None
    new: str
    text: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def validate_tag(tag: str) -> str:
    if SHA_RE.fullmatch(tag) or SEMVER_RE.fullmatch(tag):
        return tag
    raise BumpError(
        f"invalid tag {tag!r}: expected a lowercase hex commit SHA of 7-40 characters "
        "or a semantic version such as 1.4.0 / v1.4.0-rc.1"
    )


def _content(line: str) -> str:
    """The line without its end-of-line characters."""
    return line.rstrip("\r\n")


def _is_blank_or_comment(line: str) -> bool:
    stripped = _content(line).strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return key[1:-1]
    return key


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the last line belonging to the value of the key on line `start`."""
    end = start + 1
    for i in range(start + 1, len(lines)):
        if _is_blank_or_comment(lines[i]):
            continue
        if _indent(lines[i]) <= indent:
            break
        end = i + 1
    return end


def _find_key(lines: list[str], lo: int, hi: int, key: str, where: str) -> int:
    """The line of `key` among the direct children of the block lines[lo:hi]."""
    child_indent: int | None = None
    found: list[int] = []
    for i in range(lo, hi):
        line = lines[i]
        if _is_blank_or_comment(line):
            continue
        indent = _indent(line)
        if child_indent is None:
            child_indent = indent
        if indent != child_indent:
            continue  # deeper: a grandchild or a continuation line
        match = KEY_RE.match(_content(line))
        if match and _unquote(match["key"]) == key:
            found.append(i)
    if not found:
        raise BumpError(f"key {where} not found")
    if len(found) > 1:
        lines_text = ", ".join(str(i + 1) for i in found)
        raise BumpError(f"key {where} appears more than once (lines {lines_text})")
    return found[0]


def _split_scalar(rest: str, where: str) -> tuple[str | None, str]:
    """(current value or None for null, what follows it: spaces and a comment)."""
    if not rest or rest.startswith("#"):
        return None, rest
    if rest[0] in "|>{[&*!":
        raise BumpError(f"{where} is not a plain or quoted scalar: {rest!r}")
    if rest[0] == '"':
        i = 1
        while i < len(rest):
            if rest[i] == "\\":
                i += 2
                continue
            if rest[i] == '"':
                return rest[1:i], rest[i + 1 :]
            i += 1
        raise BumpError(f"{where}: unterminated double-quoted value")
    if rest[0] == "'":
        i = 1
        while i < len(rest):
            if rest[i] == "'":
                if rest[i + 1 : i + 2] == "'":  # '' is an escaped quote
                    i += 2
                    continue
                return rest[1:i].replace("''", "'"), rest[i + 1 :]
            i += 1
        raise BumpError(f"{where}: unterminated single-quoted value")
    comment = re.search(r"[ \t]#", rest)
    cut = comment.start() if comment else len(rest)
    value = rest[:cut].rstrip()
    return value, rest[len(value) :]


def _find_path(lines: list[str], path: tuple[str, ...]) -> int:
    """The line of the last key of `path`, every parent being a block mapping."""
    lo, hi = 0, len(lines)
    line_no = -1
    for depth, key in enumerate(path):
        where = ".".join(path[: depth + 1])
        line_no = _find_key(lines, lo, hi, key, where)
        lo, hi = line_no + 1, _block_end(lines, line_no, _indent(lines[line_no]))
        if depth < len(path) - 1:
            parent = KEY_RE.match(_content(lines[line_no]))
            assert parent is not None  # _find_key matched this line with KEY_RE
            if parent["rest"] and not parent["rest"].startswith("#"):
                raise BumpError(f"{where} must be a block mapping, found {parent['rest']!r}")
    return line_no


# `key: value` inside a one-line flow mapping such as `image: {tag: "0.1.0", pullPolicy: x}`.
FLOW_ITEM = (
    r"""(?P<pre>[{{,][ ]*)(?:{key}|"{key}"|'{key}')(?P<colon>[ ]*:[ ]*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,}}\s]*)"""
)


def _locate(lines: list[str], path: tuple[str, ...]) -> tuple[int, int, int]:
    """(line, start, end) of the value of `path`: a block key, or a key of a flow mapping."""
    where = ".".join(path)
    try:
        line_no = _find_path(lines, path)
    except BumpError:
        # `image: {tag: ...}`: the parent is on one line as a flow mapping.
        parent_no = _find_path(lines, path[:-1])
        parent = KEY_RE.match(_content(lines[parent_no]))
        assert parent is not None
        rest = parent["rest"]
        if not (rest.startswith("{") and re.fullmatch(r"\{[^{}\[\]]*\}[ ]*(#.*)?", rest)):
            raise
        items = list(re.finditer(FLOW_ITEM.format(key=re.escape(path[-1])), rest))
        if not items:
            raise BumpError(f"key {where} not found") from None
        if len(items) > 1:
            raise BumpError(f"key {where} appears more than once") from None
        offset = parent.start("rest")
        return parent_no, offset + items[0].start("value"), offset + items[0].end("value")
    if _block_end(lines, line_no, _indent(lines[line_no])) > line_no + 1:
        raise BumpError(f"{where} spans several lines (a mapping or block scalar), not a tag")
    match = KEY_RE.match(_content(lines[line_no]))
    assert match is not None
    rest = match["rest"]
    old, after = _split_scalar(rest, where)
    if old is None:
        return line_no, match.start("rest"), match.start("rest")
    if after and not after[0].isspace():
        raise BumpError(f"{where}: unexpected text after the value: {after!r}")
    return line_no, match.start("rest"), match.start("rest") + len(rest) - len(after)


def bump_text(text: str, path: tuple[str, ...], tag: str) -> Bump:
    """Return `text` with the scalar at `path` set to `tag`; every other byte is kept."""
    validate_tag(tag)
    lines = text.splitlines(keepends=True)
    line_no, start, end = _locate(lines, path)
    line = lines[line_no]
    current = line[start:end]
    old, _ = _split_scalar(current, ".".join(path)) if current else (None, "")
    if old == tag:
        return Bump(path, old, tag, text)
    quote = "'" if current.startswith("'") else '"'
    value = f"{quote}{tag}{quote}"
    head, tail = line[:start], line[end:]
    if start == end:  # null value: `tag:` or `tag:   # comment`
        tail_content = _content(tail)
        if not head.endswith(" "):
            head += " "
        if tail_content and tail_content[0] not in ",}":
            value += " "
    lines[line_no] = head + value + tail
    return Bump(path, old, tag, "".join(lines))


def service_path(service: str) -> tuple[str, ...]:
    # The Flink job is not under services: the chart keeps its values in a block of its own.
    if service == "analytics":
        return ("analytics", "image", "tag")
    return ("services", service, "image", "tag")


def _lookup(document: Any, path: tuple[str, ...]) -> Any:
    node = document
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _assign(document: Any, path: tuple[str, ...], value: str) -> None:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def verify(before: str, after: str, bumps: list[Bump]) -> None:
    """Parse both versions: the new one must equal the old one with only the tags changed."""
    try:
        import yaml
    except ImportError:  # the CI bump job installs PyYAML; without it the edit is unchecked
        print("bump_image_tags: PyYAML not installed, result not verified", file=sys.stderr)
        return
    try:
        old_doc = yaml.safe_load(before)
        new_doc = yaml.safe_load(after)
    except yaml.YAMLError as exc:
        raise BumpError(f"the values file does not parse as YAML: {exc}") from exc
    for bump in bumps:
        if _lookup(new_doc, bump.path) != bump.new:
            where = ".".join(bump.path)
            raise BumpError(f"after editing, {where} does not read back as {bump.new!r}")
        _assign(old_doc, bump.path, bump.new)
    if old_doc != new_doc:
        raise BumpError("the edit changed more than the tags (refusing to write)")


def bump_file(values: Path, tag: str, service: str | None) -> list[Bump]:
    validate_tag(tag)
    if not values.is_file():
        raise BumpError("no such file")
    # newline="" keeps CRLF files CRLF: only the value's characters may change.
    with values.open(encoding="utf-8", newline="") as handle:
        before = handle.read()
    paths = [service_path(service) if service else ("image", "tag")]
    text = before
    bumps: list[Bump] = []
    for path in paths:
        bump = bump_text(text, path, tag)
        bumps.append(bump)
        text = bump.text
    if text != before:
        verify(before, text, bumps)
        with values.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return bumps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--values", required=True, type=Path, help="Helm values file to edit")
    parser.add_argument("--tag", required=True, help="commit SHA (7-40 hex) or semver")
    parser.add_argument(
        "--service",
        help="bump only this service's override (services.<NAME>.image.tag; "
        "analytics.image.tag for analytics); default: image.tag",
    )
    args = parser.parse_args(argv)
    if args.service is not None and not SERVICE_RE.fullmatch(args.service):
        parser.error(f"invalid service name {args.service!r}")

    values: Path = args.values
    try:
        bumps = bump_file(values, args.tag, args.service)
    except BumpError as exc:
        print(f"bump_image_tags: error: {values}: {exc}", file=sys.stderr)
        return 1
    for bump in bumps:
        key = ".".join(bump.path)
        if bump.changed:
            print(f"{values}: {key} {bump.old!r} -> {bump.new!r}")
        else:
            print(f"{values}: {key} is already {bump.new!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
