"""A dead letter as the redrive sees it: its id, its headers, what was done with it."""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from aiokafka import ConsumerRecord

from cloudmart_common.topology import DEAD_LETTERS, DeadLetterHeaders

log = logging.getLogger(__name__)
T = TypeVar("T")

Status = Literal["pending", "handled", "all"]
State = Literal["pending", "replaying", "replayed", "discarded"]
Action = Literal["replay", "discard"]


@dataclass(frozen=True, order=True)
class RecordId:
    """Where a dead letter sits in the DLQ, written `<partition>-<offset>` in the API."""

    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> "RecordId":
        partition, offset = text.split("-")
        return cls(int(partition), int(offset))

    def __str__(self) -> str:
        return f"{self.partition}-{self.offset}"


@dataclass(frozen=True)
class DeadLetter:
    id: RecordId
    timestamp_ms: int
    key: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        found = [value for header, value in self.headers if header == name]
        return found[-1].decode(errors="replace") if found else None

    def _number(self, name: str) -> int | None:
        text = self.header(name)
        return int(text) if text is not None and text.isascii() and text.isdigit() else None

    @property
    def dead_lettered_at(self) -> str:
        return _iso(self.timestamp_ms)

    @property
    def original_topic(self) -> str | None:
        return self.header(DeadLetterHeaders.ORIGINAL_TOPIC)

    @property
    def original_partition(self) -> int | None:
        return self._number(DeadLetterHeaders.ORIGINAL_PARTITION)

    @property
    def original_offset(self) -> int | None:
        return self._number(DeadLetterHeaders.ORIGINAL_OFFSET)

    @property
    def error(self) -> str:
        return self.header(DeadLetterHeaders.ERROR) or ""

    @property
    def attempts(self) -> int:
        return self._number(DeadLetterHeaders.ATTEMPTS) or 0

    @property
    def consumer_group(self) -> str | None:
        return self.header(DeadLetterHeaders.CONSUMER_GROUP)

    @property
    def replay_count(self) -> int:
        return self._number(DeadLetterHeaders.REPLAY_COUNT) or 0

    @property
    def event(self) -> Any:
        """The value as JSON, or as text when it is not JSON (a malformed record)."""
        try:
            return json.loads(self.value)
        except ValueError:
            return self.value.decode(errors="replace")

    @property
    def event_id(self) -> str | None:
        event = self.event
        return str(event["event_id"]) if isinstance(event, dict) and "event_id" in event else None

    @property
    def event_type(self) -> str | None:
        event = self.event
        if isinstance(event, dict) and "event_type" in event:
            return str(event["event_type"])
        return self.header("event_type")

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers (traceparent, event_type ...), the counter one higher."""
        kept = [(n, v) for n, v in self.headers if not n.startswith(DeadLetterHeaders.PREFIX)]
        return [
            *kept,
            (DeadLetterHeaders.REPLAY_COUNT, str(self.replay_count + 1).encode()),
            (
                DeadLetterHeaders.REPLAYED_FROM,
                f"{DEAD_LETTERS.name}/{self.id.partition}/{self.id.offset}".encode(),
            ),
        ]


@dataclass(frozen=True)
class Handling:
    """What an operator did with a dead letter (the durable part of its state)."""

    state: Literal["replaying", "replayed", "discarded"]
    actor: str
    at: str
    reason: str = ""
    replayed_to: str | None = None  # <topic>/<partition>/<offset> of the copy


@dataclass(frozen=True)
class Examined:
    """A dead letter and what was done with it."""

    letter: DeadLetter
    handling: Handling | None

    @property
    def state(self) -> State:
        return self.handling.state if self.handling is not None else "pending"


@dataclass(frozen=True)
class Actor:
    """Who acts: the verified token's subject and role (never a name the client claims)."""

    subject: str
    role: str
    session: str | None = None


def _iso(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dead_letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        id=RecordId(record.partition, record.offset),
        timestamp_ms=record.timestamp,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        value=record.value or b"",
        headers=tuple((name, value) for name, value in (record.headers or ())),
    )
