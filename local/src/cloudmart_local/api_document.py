"""The public API document, built without a running stack: each service's app is made (not
started) with the stack's environment, and the documents are merged as the gateway merges
them. The web build generates its API types from it (web/src/api/schema.d.ts).

    python -m cloudmart_local.api_document            # writes web/openapi.json
    python -m cloudmart_local.api_document --check    # fails if it is stale

It is committed (web/openapi.json): the image's web stage builds from it without Python.
"""

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from cloudmart_local.layout import ROOT, SERVICE_PORTS
from cloudmart_local.secrets import service_environment

WEB_DOCUMENT = ROOT / "web" / "openapi.json"


def _document_of(service: str) -> dict[str, Any]:
    saved = dict(os.environ)
    os.environ.update(service_environment(service))
    try:
        app = importlib.import_module(f"cloudmart_{service}.app").create_app()
        # A service with a fast path wraps its FastAPI app (cloudmart_common.fast_path).
        document: dict[str, Any] = getattr(app, "app", app).openapi()
        return document
    finally:
        os.environ.clear()
        os.environ.update(saved)


def public_document() -> dict[str, Any]:
    merge = importlib.import_module("cloudmart_gateway.openapi").merge
    backends = sorted(SERVICE_PORTS.keys() - {"gateway"})
    merged: dict[str, Any] = merge({service: _document_of(service) for service in backends})
    return merged


def document_text() -> str:
    return json.dumps(public_document(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudmart_local.api_document")
    parser.add_argument("--output", type=Path, default=WEB_DOCUMENT)
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    arguments = parser.parse_args(argv)
    output: Path = arguments.output
    text = document_text()
    if output.is_file() and output.read_text() == text:
        return 0  # unchanged: the web build stays cached
    if arguments.check:
        print(f"{output} is stale: run python -m cloudmart_local.api_document", file=sys.stderr)
        return 1
    output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
