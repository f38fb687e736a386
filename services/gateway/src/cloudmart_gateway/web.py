"""The web UI: the built storefront and admin console (web/dist), and its run-time config.

Every path that is not the API, a probe or a built file answers index.html, so the UI's own
URLs (/products/7, /admin/orders) survive a reload. Hashed assets are cached for a year;
index.html never, so a new build is picked up at once.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from cloudmart_common.errors import NotFoundError
from cloudmart_gateway.settings import Settings

router = APIRouter()

# Stripe's test cards that localstripe honours (shown on the checkout page in test mode).
TEST_CARDS = (
    {"number": "4242 4242 4242 4242", "outcome": "accepted"},
    {"number": "4000 0000 0000 0341", "outcome": "declined (card_declined)"},
)
# Never pages of the UI: an unrouted API path stays a 404, not the shop's home page.
NOT_PAGES = frozenset({"api", "internal", "health", "ready", "metrics"})
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def web_config(settings: Settings) -> dict[str, Any]:
    return {
        "stripe_api_base": settings.web_stripe_api_base.rstrip("/"),
        "stripe_publishable_key": settings.web_stripe_publishable_key,
        "test_cards": list(TEST_CARDS) if settings.web_show_test_cards else [],
    }


@router.get("/config.json", include_in_schema=False)
async def config(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    return JSONResponse(web_config(settings), headers={"Cache-Control": REVALIDATE})


@router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def web_ui(path: str, request: Request) -> Response:
    settings: Settings = request.app.state.settings
    root = settings.web_dist_dir.resolve() if settings.web_dist_dir else None
    if root is None or not (root / "index.html").is_file():
        raise NotFoundError("the web UI is not built here (`make up` builds web/dist)")
    parts = Path(path).parts
    if ".." in parts or (parts and parts[0] in NOT_PAGES):
        raise NotFoundError(f"no such page /{path}")
    wanted = (root / path).resolve()
    if wanted != root and wanted.is_relative_to(root) and wanted.is_file():
        cache = IMMUTABLE if wanted.parent.name == "assets" else REVALIDATE
        return FileResponse(wanted, headers={"Cache-Control": cache})
    if Path(path).suffix:  # a missing file, not a page of the UI
        raise NotFoundError(f"no file /{path}")
    return FileResponse(root / "index.html", headers={"Cache-Control": REVALIDATE})
