"""Routes of the dashboard: recent windows, a summary, trending products, and a live stream
(SSE)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from cloudmart_common.auth import AdminUser
from cloudmart_common.errors import NotFoundError
from cloudmart_dashboard.dependencies import Results
from cloudmart_dashboard.errors import InvalidCursor
from cloudmart_dashboard.repository import LIVE
from cloudmart_dashboard.schemas import Summary, TrendingProducts, WindowPage
from cloudmart_dashboard.service import summarise

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@router.get(
    "/windows",
    response_model=None,
    responses={
        200: {"model": WindowPage},
        400: {"description": "The cursor is not a window start"},
    },
)
async def windows(
    store: Results,
    admin: AdminUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Window results, newest first; the cursor is a window_start."""
    before = None
    if cursor is not None:
        try:
            before = datetime.fromisoformat(cursor.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise InvalidCursor("invalid cursor", field="cursor") from exc
    items = await store.windows(limit + 1, before)
    next_cursor = items[limit - 1]["window_start"] if len(items) > limit else None
    return {"items": items[:limit], "next_cursor": next_cursor}


@router.get("/summary", response_model=None, responses={200: {"model": Summary}})
async def summary(request: Request, store: Results, admin: AdminUser) -> dict[str, Any]:
    """The latest windows added up (SUMMARY_WINDOWS of them), recent anomalies, late events."""
    count = request.app.state.settings.summary_windows
    return summarise(
        await store.windows(count, None), await store.anomalies(10), await store.late_events()
    )


@router.get(
    "/trending",
    response_model=None,
    responses={
        200: {"model": TrendingProducts},
        404: {"description": "No sliding window has closed yet"},
    },
)
async def trending(store: Results, admin: AdminUser) -> dict[str, Any]:
    """The trending products: those of the sliding window that ended last (each new one is
    also pushed on the stream, as `event: trending_products`)."""
    latest = await store.trending()
    if latest is None:
        raise NotFoundError("no trending products yet: no sliding window has closed")
    return latest


@router.get("/stream")
async def stream(request: Request, admin: AdminUser) -> StreamingResponse:
    """Server-sent events: every new result as `event: <event_type>`, a comment as heartbeat."""
    redis = request.app.state.redis
    heartbeat = request.app.state.settings.stream_heartbeat_seconds

    async def events() -> AsyncIterator[str]:
        pubsub = redis.pubsub()
        await pubsub.subscribe(LIVE)
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=heartbeat
                )
                if message is None:
                    yield ": heartbeat\n\n"
                    continue
                data = message["data"]
                text = data.decode() if isinstance(data, bytes) else str(data)
                kind = json.loads(text).get("event_type", "result")
                yield f"event: {kind}\ndata: {text}\n\n"
                await asyncio.sleep(0)
        finally:
            await pubsub.unsubscribe(LIVE)
            await pubsub.aclose()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
