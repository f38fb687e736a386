"""Routes of the DLQ redrive (admins only): inspect, replay, discard, and the audit trail."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from cloudmart_common.auth import AdminUser
from cloudmart_common.principal import Principal
from cloudmart_notifications.redrive.records import Actor, RecordId, Status
from cloudmart_notifications.redrive.schemas import (
    AUDIT_CURSOR_PATTERN,
    RECORD_ID_PATTERN,
    AuditOut,
    AuditPage,
    DeadLetterDetail,
    DeadLetterOut,
    DeadLetterPage,
    RedriveIn,
)
from cloudmart_notifications.redrive.service import Redrive

router = APIRouter(prefix="/api/notifications/dlq", tags=["dlq"])

RecordIdPath = Annotated[str, Path(pattern=RECORD_ID_PATTERN, description="<partition>-<offset>")]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such record in notifications-dlq"},
    409: {
        "description": "Already replayed or discarded (`dead-letter-handled`), the replay limit "
        "is reached (`replay-limit-reached`), or the record names a topic this service does "
        "not consume (`not-replayable`)"
    },
    503: {"description": "Kafka did not answer; nothing was changed"},
}


def _redrive(request: Request) -> Redrive:
    redrive: Redrive = request.app.state.redrive
    return redrive


def _actor(admin: Principal) -> Actor:
    return Actor(admin.subject, admin.role, str(admin.claims.get("sid") or "") or None)


@router.get("", response_model=DeadLetterPage)
async def dead_letters(
    request: Request,
    admin: AdminUser,
    status: Status = "pending",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(pattern=RECORD_ID_PATTERN)] = None,
) -> DeadLetterPage:
    """Dead letters oldest first; `pending` (default) hides the replayed and discarded ones."""
    redrive = _redrive(request)
    after = RecordId.parse(cursor) if cursor is not None else None
    found, next_cursor = await redrive.page(status, limit, after)
    return DeadLetterPage(
        items=[DeadLetterOut.of(e, redrive.max_replays) for e in found], next_cursor=next_cursor
    )


@router.get("/audit", response_model=AuditPage)
async def audit(
    request: Request,
    admin: AdminUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(pattern=AUDIT_CURSOR_PATTERN)] = None,
) -> AuditPage:
    """Every replay and discard, refused and failed ones included, newest first."""
    entries, next_cursor = await _redrive(request).audit_page(limit, cursor)
    return AuditPage(items=[AuditOut.model_validate(e) for e in entries], next_cursor=next_cursor)


@router.get("/{record_id}", response_model=DeadLetterDetail, responses={404: _REFUSALS[404]})
async def dead_letter(
    record_id: RecordIdPath, request: Request, admin: AdminUser
) -> DeadLetterDetail:
    """One record with its headers and value."""
    redrive = _redrive(request)
    examined = await redrive.examine(RecordId.parse(record_id))
    return DeadLetterDetail.of(examined, redrive.max_replays)


@router.post("/{record_id}/replay", response_model=DeadLetterOut, responses=_REFUSALS)
async def replay(
    record_id: RecordIdPath, request: Request, admin: AdminUser, body: RedriveIn | None = None
) -> DeadLetterOut:
    """Publish the event again to its original topic, `dlq_replay_count` one higher."""
    redrive = _redrive(request)
    reason = body.reason if body is not None else ""
    examined = await redrive.replay(RecordId.parse(record_id), _actor(admin), reason)
    return DeadLetterOut.of(examined, redrive.max_replays)


@router.post("/{record_id}/discard", response_model=DeadLetterOut, responses=_REFUSALS)
async def discard(
    record_id: RecordIdPath, request: Request, admin: AdminUser, body: RedriveIn | None = None
) -> DeadLetterOut:
    """Mark the record handled without replaying it."""
    redrive = _redrive(request)
    reason = body.reason if body is not None else ""
    examined = await redrive.discard(RecordId.parse(record_id), _actor(admin), reason)
    return DeadLetterOut.of(examined, redrive.max_replays)
