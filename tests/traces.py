"""Reading the spans the local stack's services write (TRACE_FILE: one JSON line per span)."""

import json
from typing import Any

from cloudmart_local.layout import TRACES


def spans_of(trace_id: str) -> list[dict[str, Any]]:
    """Every exported span of the trace, from every service's file (rotated ones included)."""
    wanted = f"0x{trace_id}"
    found: list[dict[str, Any]] = []
    for path in sorted(TRACES.glob("*.jsonl*")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if wanted in line:
                    span = json.loads(line)
                    if span["context"]["trace_id"] == wanted:
                        found.append(span)
    return found


def service_of(span: dict[str, Any]) -> str:
    name: str = span["resource"]["attributes"]["service.name"]
    return name
