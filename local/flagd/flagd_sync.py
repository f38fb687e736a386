"""flagd's sync API (`flagd.sync.v1`) serving one watched flag file: the local stand-in for flagd.

usage: python flagd_sync.py HOST PORT FLAG_FILE

Why a stand-in: the Go module proxy refuses `github.com/open-feature/flagd/flagd` (ADR 0020).
The services use the flagd provider in in-process mode, which reads flag definitions from this
API and evaluates them locally; with a real flagd on the same port nothing else changes.
- Every stream gets the whole flag set at once, then again after each change of the file
  (polled: the CLI replaces it atomically, which some file-event watchers lose track of).
- A file that does not parse is logged and ignored: the last good flag set stays served, so a
  typo in a hand edit never switches faults on or off by surprise.
- GetMetadata answers UNIMPLEMENTED, as newer flagd releases do; the provider then skips it.
"""

import json
import logging
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
from openfeature.schemas.protobuf.flagd.sync.v1 import sync_pb2, sync_pb2_grpc

POLL_SECONDS = 0.25
log = logging.getLogger("flagd-sync")


class WatchedFlagFile:
    """The current flag set (JSON text) and a version that grows with every change."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._changed = threading.Condition()
        self._stamp: tuple[int, int] | None = None
        self._version = 0
        self._text = '{"flags": {}}'
        self._reload()

    def current(self) -> tuple[int, str]:
        with self._changed:
            return self._version, self._text

    def newer_than(self, version: int, timeout: float) -> tuple[int, str] | None:
        with self._changed:
            self._changed.wait_for(lambda: self._version != version, timeout)
            return (self._version, self._text) if self._version != version else None

    def watch(self) -> None:
        while True:
            threading.Event().wait(POLL_SECONDS)
            self._reload()

    def _reload(self) -> None:
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
            if stamp == self._stamp:
                return
            self._stamp = stamp
            text = self._path.read_text()
            flags = json.loads(text)["flags"]
            if not isinstance(flags, dict):
                raise TypeError("'flags' is not an object")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("flag file %s not loaded, keeping the last good one: %s", self._path, exc)
            return
        with self._changed:
            if text != self._text:
                self._text = text
                self._version += 1
                self._changed.notify_all()
                log.info("flag set version %d: %s", self._version, _summary(flags))


def _summary(flags: dict[str, dict[str, object]]) -> str:
    return ", ".join(f"{key}={spec.get('defaultVariant')}" for key, spec in sorted(flags.items()))


class FlagSync(sync_pb2_grpc.FlagSyncServiceServicer):  # type: ignore[misc]
    def __init__(self, flags: WatchedFlagFile) -> None:
        self._flags = flags

    def SyncFlags(self, request: object, context: grpc.ServicerContext) -> Iterator[object]:
        version, text = self._flags.current()
        yield sync_pb2.SyncFlagsResponse(flag_configuration=text)
        while context.is_active():
            newer = self._flags.newer_than(version, timeout=1.0)
            if newer is not None:
                version, text = newer
                yield sync_pb2.SyncFlagsResponse(flag_configuration=text)

    def FetchAllFlags(self, request: object, context: grpc.ServicerContext) -> object:
        return sync_pb2.FetchAllFlagsResponse(flag_configuration=self._flags.current()[1])

    def GetMetadata(self, request: object, context: grpc.ServicerContext) -> object:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "GetMetadata is deprecated")


def main(host: str, port: str, flag_file: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    flags = WatchedFlagFile(Path(flag_file))
    threading.Thread(target=flags.watch, name="flag-file-watch", daemon=True).start()
    # One thread per open stream: every service process holds one, plus probes and the CLI.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    sync_pb2_grpc.add_FlagSyncServiceServicer_to_server(FlagSync(flags), server)
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    log.info("serving flagd.sync.v1 on %s:%s from %s", host, port, flag_file)
    server.wait_for_termination()


if __name__ == "__main__":
    main(*sys.argv[1:4])
