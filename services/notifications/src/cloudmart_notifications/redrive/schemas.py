"""The DLQ redrive's public contract: dead letters, redrive requests, audit entries."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints

from cloudmart_notifications.redrive.records import Examined
from cloudmart_notifications.schemas import Strict

RECORD_ID_PATTERN = r"^\d{1,9}-\d{1,19}$"
AUDIT_CURSOR_PATTERN = r"^\d{1,20}-\d{1,20}$"


class DeadLetterOut(BaseModel):
    """A record of `notifications-dlq`: where it came from, why it failed, what was done."""

    id: str  # <partition>-<offset> in notifications-dlq
    partition: int
    offset: int
    dead_lettered_at: str
    key: str | None
    event_id: str | None
    event_type: str | None
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    consumer_group: str | None
    error: str
    attempts: int
    replay_count: int
    max_replays: int
    state: Literal["pending", "replaying", "replayed", "discarded"]
    handled_by: str | None = None
    handled_at: str | None = None
    reason: str | None = None
    replayed_to: str | None = None  # <topic>/<partition>/<offset> of the replayed copy

    @classmethod
    def of(cls, examined: Examined, max_replays: int) -> "DeadLetterOut":
        return cls.model_validate(_fields(examined, max_replays))


class DeadLetterDetail(DeadLetterOut):
    headers: dict[str, str]
    value: Any  # the event as JSON, or the text of a record that is not JSON

    @classmethod
    def of(cls, examined: Examined, max_replays: int) -> "DeadLetterDetail":
        letter = examined.letter
        return cls.model_validate(
            _fields(examined, max_replays)
            | {
                "headers": {n: v.decode(errors="replace") for n, v in letter.headers},
                "value": letter.event,
            }
        )


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class RedriveIn(Strict):
    # Kept in the audit trail: one line, no control characters.
    reason: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{0,500}$")] = ""


class AuditOut(BaseModel):
    id: str
    at: str
    action: Literal["replay", "discard"]
    record_id: str
    outcome: Literal["replayed", "discarded", "refused", "failed"]
    actor: str
    actor_role: str
    session: str = ""
    reason: str = ""
    detail: str = ""  # why a refused or failed action did not happen
    event_id: str = ""
    event_type: str = ""
    original_topic: str = ""
    replayed_to: str = ""


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


def _fields(examined: Examined, max_replays: int) -> dict[str, Any]:
    letter, handling = examined.letter, examined.handling
    return {
        "id": str(letter.id),
        "partition": letter.id.partition,
        "offset": letter.id.offset,
        "dead_lettered_at": letter.dead_lettered_at,
        "key": letter.key,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "original_topic": letter.original_topic,
        "original_partition": letter.original_partition,
        "original_offset": letter.original_offset,
        "consumer_group": letter.consumer_group,
        "error": letter.error,
        "attempts": letter.attempts,
        "replay_count": letter.replay_count,
        "max_replays": max_replays,
        "state": examined.state,
        "handled_by": handling.actor if handling else None,
        "handled_at": handling.at if handling else None,
        "reason": handling.reason if handling else None,
        "replayed_to": handling.replayed_to if handling else None,
    }
