"""The public API document the web build generates its types from (web/openapi.json): current,
and the one the gateway serves."""

import json
from pathlib import Path

import httpx

from cloudmart_local import api_document
from cloudmart_local.shop import GATEWAY


def test_the_committed_document_is_generated_from_the_current_services() -> None:
    assert api_document.main(["--check"]) == 0, "run `python -m cloudmart_local.api_document`"


def test_a_stale_document_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(api_document.WEB_DOCUMENT.read_text().replace('"sku"', '"code"', 1))

    assert api_document.main(["--check", "--output", str(stale)]) == 1


def test_the_gateway_serves_the_committed_document() -> None:
    served = httpx.get(f"{GATEWAY}/api/openapi.json", timeout=30).json()

    assert served == json.loads(api_document.WEB_DOCUMENT.read_text())
