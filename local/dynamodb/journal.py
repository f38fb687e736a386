"""What makes the local DynamoDB durable: a journal of acknowledged writes and a snapshot.

moto keeps its tables in memory and offers no persistence of its own that is fit for this (its
recorder logs every request, reads included, never syncs to disk and never compacts). So:

- every DynamoDB request that changes something and succeeded is appended to
  `journal-<generation>.jsonl` and synced to disk *before* its answer leaves: an acknowledged
  write survives `kill -9` and a power cut. Requests are serialised by the emulator, so the
  journal's order is the order moto applied them, and replaying it in that order on the same
  starting state gives the same state (counters, conditions and all).
- once the journal holds `compact_bytes`, and at start-up after a replay, the whole state is
  written to `snapshot.jsonl` (to a temporary file, synced, then renamed over the old one)
  under the next generation, and the journals of earlier generations are deleted. A crash
  between the rename and the deletion leaves journals the new snapshot already holds; their
  generation says so, and they are skipped.
- at start-up: the snapshot's tables (re-created by the very requests that created and changed
  them) and items (put straight into moto's tables), then the journals of its generation and
  later, replayed request by request. A torn last line (the process died mid-write, before
  that write was answered) is dropped.

Only DynamoDB: the emulator's S3 and SQS stay in memory (the catalog import re-creates its
bucket and queue; an uploaded file is processed within seconds of its upload).
"""

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Requests that can change tables or items. Reads are never journaled; a write that failed
# (a condition not met, a cancelled transaction) changed nothing and is not journaled either.
WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "UpdateTimeToLive",
        "TagResource",
        "UntagResource",
    }
)
# Requests that shape a table: kept per table, to re-create it from the snapshot.
SCHEMA = frozenset(
    {"CreateTable", "UpdateTable", "UpdateTimeToLive", "TagResource", "UntagResource"}
)
HEADERS = ("X-Amz-Target", "Authorization", "Content-Type")  # what moto reads of a request

Record = dict[str, Any]  # {"h": {header: value}, "b": the JSON body}


def operation(record: Record) -> str:
    return str(record["h"].get("X-Amz-Target", "")).rpartition(".")[2]


@dataclass
class Journal:
    directory: Path
    compact_bytes: int
    generation: int = 0
    size: int = 0  # bytes in the current journal
    _fd: int = field(default=-1, repr=False)

    def append(self, record: Record) -> None:
        """Write and sync one record; returns once it is on disk."""
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fdatasync(self._fd)
        self.size += len(line)

    def due(self) -> bool:
        return self.size >= self.compact_bytes

    def load(
        self,
        restore_table: Callable[[dict[str, Any]], None],
        restore_item: Callable[[list[Any]], None],
        replay: Callable[[Record], None],
    ) -> int:
        """Rebuild the state on disk through the callbacks; the number of journal records
        replayed. Opens the journal for appending."""
        self.directory.mkdir(parents=True, exist_ok=True)
        snapshot = self.directory / "snapshot.jsonl"
        if snapshot.exists():
            with snapshot.open() as lines:
                self.generation = int(json.loads(next(lines))["generation"])
                for line in lines:
                    entry = json.loads(line)
                    if "table" in entry:
                        restore_table(entry["table"])
                    else:
                        restore_item(entry["item"])
        replayed = 0
        for generation, path in self._journals():
            if generation < self.generation:
                path.unlink()  # held by the snapshot already
                continue
            for record in _records(path):
                replay(record)
                replayed += 1
            # Later generations than the snapshot's exist only if a compaction died before
            # renaming its snapshot: appending goes on in the newest.
            self.generation = generation
        self._open(self.generation)
        return replayed

    def compact(self, state: Iterator[dict[str, Any]]) -> None:
        """Write `state` (table and item entries) as the snapshot of the next generation, then
        start that generation's journal and delete the older ones."""
        generation = self.generation + 1
        temporary = self.directory / "snapshot.jsonl.tmp"
        with temporary.open("w") as out:
            out.write(json.dumps({"generation": generation}) + "\n")
            for entry in state:
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / "snapshot.jsonl")
        self._sync_directory()
        os.close(self._fd)
        self._open(generation)
        for older, path in self._journals():
            if older < generation:
                path.unlink()
        self.generation = generation

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _open(self, generation: int) -> None:
        path = self.directory / f"journal-{generation}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self._sync_directory()

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.glob("journal-*.jsonl"):
            number = path.stem.removeprefix("journal-")
            if number.isdigit():
                found.append((int(number), path))
        return sorted(found)

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _records(path: Path) -> Iterator[Record]:
    """The journal's records; a torn last line (never acknowledged) is cut off the file."""
    good = 0
    with path.open("rb") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s: dropping a torn last record (%d bytes)", path.name, len(line))
                break
            good += len(line)
            yield record
    if good < path.stat().st_size:
        os.truncate(path, good)
