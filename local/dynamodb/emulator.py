"""The local DynamoDB emulator: moto server with DynamoDB requests serialised, tables created.

usage: python emulator.py HOST PORT DATA_DIR TABLE_SCHEMA.json [TABLE_SCHEMA.json ...]

Runs in its own venv (local/dynamodb/requirements.txt). Why a wrapper around moto_server:
- moto's TransactWriteItems takes no lock and, when cancelled, restores a table copy taken before
  concurrent writes, so stock could be oversold; one lock around DynamoDB requests fixes that.
  Other services (S3, SQS long polls) stay concurrent.
- every transaction deep-copies each table it touches, to roll back on cancellation: a cost
  that grows with the table (with a few hundred products and the reservations of every order
  placed, most of the emulator's 120-190 ms of CPU per checkout, ADR 0017). Requests being
  serialised, a cancelled transaction can instead put back just the items it touched: we
  snapshot those and hand moto its tables uncopied. moto also keeps every copy in
  `instances_tracked` (only its dashboard reads it): we empty those lists after each request.
- werkzeug's development server closes every connection after one request (and waits up to
  10 ms for stray request bytes before it does): each DynamoDB call was a new TCP connection
  and a new thread here, and a connect in the products service. `KeepAliveRequestHandler`
  answers HTTP/1.1 with the connection kept open.
- moto keeps nothing across restarts: every acknowledged write is journaled to DATA_DIR and
  synced before it is answered, and compacted into a snapshot (journal.py); a start restores
  both. Tables missing after that are created from the schema files the services and
  Terraform read.
"""

import copy
import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
from journal import HEADERS, SCHEMA, WRITES, Journal, Record, operation
from moto.core.model_instances import model_data
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder

StartResponse = Callable[..., Any]
# Journal size that triggers a snapshot. A restart loads the snapshot (about 8 s per 100,000
# products here) and replays at most this much journal (about 5 s); a snapshot pauses requests
# while it is written (about 1.2 s per 100,000 products).
COMPACT_BYTES = 8 * 1024 * 1024


class SerialiseDynamoDB:
    """WSGI middleware: DynamoDB requests one at a time, response body read inside the lock;
    each successful write journaled (synced to disk) before its answer leaves."""

    def __init__(self, app: Callable[..., Iterable[bytes]], durable: "Durable") -> None:
        self.app = app
        self.durable = durable
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        record: Record | None = None
        if target.rpartition(".")[2] in WRITES:
            length = environ.get("CONTENT_LENGTH")
            stream = environ["wsgi.input"]
            if length:
                body = stream.read(int(length))
            else:  # a chunked body, dechunked by werkzeug, ends; a raw socket would not
                body = stream.read() if environ.get("wsgi.input_terminated") else b""
            environ["wsgi.input"] = io.BytesIO(body)
            headers = {name: environ.get(_environ_key(name), "") for name in HEADERS}
            record = {"h": headers, "b": body.decode()}
        statuses: list[str] = []

        def recording(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc)

        with self.lock:
            result = self.app(environ, recording)
            try:
                answer = [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                for model in model_data["dynamodb"].values():
                    model.instances_tracked = []  # type: ignore[attr-defined]
            if record is not None and statuses and statuses[-1].startswith("200"):
                self.durable.written(record)
            return answer


def _environ_key(header: str) -> str:
    return (
        "CONTENT_TYPE" if header == "Content-Type" else "HTTP_" + header.upper().replace("-", "_")
    )


class Durable:
    """The tables' state on disk (journal.py): journals writes, tracks what shaped each table,
    snapshots and restores."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], journal: Journal, base_url: str
    ) -> None:
        self.app = app
        self.journal = journal
        self.base_url = base_url
        # (account, region, table) -> the requests that created and shaped it, in order
        self.schemas: dict[tuple[str, str, str], list[Record]] = {}

    def load(self) -> int:
        return self.journal.load(self._restore_table, self._restore_item, self._replay)

    def written(self, record: Record) -> None:
        try:
            self.journal.append(record)
            self._track(record)
            if self.journal.due():
                self.compact()
        except OSError:
            # The write is applied in memory but not on disk: answering it would promise what a
            # restart would lose. Exit instead; supervisord restarts the emulator from disk.
            logging.getLogger(__name__).critical("journal write failed; exiting", exc_info=True)
            os._exit(70)

    def compact(self) -> None:
        started = time.monotonic()
        self.journal.compact(self._state())
        print(
            f"snapshot of generation {self.journal.generation} written in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )

    def _state(self) -> Iterator[dict[str, Any]]:
        for account, regions in dict.items(dynamodb_backends):
            for region, backend in dict.items(regions):
                for name, table in backend.tables.items():
                    schema = self.schemas.get((account, region, name))
                    if schema is None:
                        continue  # created before journaling: the schema files re-create it
                    yield {"table": {"at": [account, region, name], "schema": schema}}
                    for item in table.all_items():
                        yield {"item": [account, region, name, item.to_json()["Attributes"]]}

    def _restore_table(self, entry: dict[str, Any]) -> None:
        for record in entry["schema"]:
            self._call(record)
        account, region, name = entry["at"]
        self.schemas[(account, region, name)] = list(entry["schema"])

    def _restore_item(self, entry: list[Any]) -> None:
        account, region, name, attributes = entry
        dynamodb_backends[account][region].tables[name].put_item(attributes)

    def _replay(self, record: Record) -> None:
        if self._call(record):
            self._track(record)

    def _call(self, record: Record) -> bool:
        """Apply a journaled request as the server would have; whether it succeeded."""
        environ = EnvironBuilder(
            method="POST", base_url=self.base_url, headers=record["h"], data=record["b"]
        ).get_environ()
        statuses: list[str] = []
        result = self.app(environ, lambda status, headers, exc=None: statuses.append(status))
        body = b"".join(result)
        if not statuses or not statuses[0].startswith("200"):
            logging.getLogger(__name__).warning(
                "replaying %s failed: %s %s", operation(record), statuses, body[:200]
            )
            return False
        return True

    def _track(self, record: Record) -> None:
        op = operation(record)
        if op not in SCHEMA and op != "DeleteTable":
            return
        body = json.loads(record["b"])
        name = body.get("TableName") or str(body.get("ResourceArn", "")).rpartition("/")[2]
        region = _region(record["h"].get("Authorization", ""))
        account = next(
            (
                account
                for account, regions in dict.items(dynamodb_backends)
                if region in dict.keys(regions) and name in dict.__getitem__(regions, region).tables
            ),
            None,
        )
        key = next((k for k in self.schemas if k[1:] == (region, name)), None)
        if op == "DeleteTable":
            if key is not None:
                del self.schemas[key]
        elif op == "CreateTable" and account is not None:
            self.schemas[(account, region, name)] = [record]
        elif key is not None:
            self.schemas[key].append(record)


def _region(authorization: str) -> str:
    """The region of a SigV4 `Credential=KEY/DATE/REGION/SERVICE/aws4_request`."""
    credential = authorization.partition("Credential=")[2].split(",")[0]
    parts = credential.split("/")
    return parts[2] if len(parts) > 2 else "us-east-1"


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler, answering a request with a body of known length on a kept-open
    HTTP/1.1 connection; anything else (a chunked upload, `Expect: 100-continue`) goes
    werkzeug's own way, which closes the connection after it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def run_wsgi(self) -> None:
        if "Transfer-Encoding" in self.headers or "Expect" in self.headers:
            self.close_connection = True
            super().run_wsgi()
            return
        length = int(self.headers.get("Content-Length") or 0)
        # The whole body is read before the app runs: an unread rest would be taken for the
        # next request line.
        body = self.rfile.read(length) if length else b""
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        answer: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], _exc: Any = None) -> Any:
            answer[:] = [status, headers]
            return written.append

        try:
            result = self.server.app(environ, start_response)
            try:
                data = b"".join([*written, *result])
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            logging.getLogger(__name__).exception("request failed")
            self.close_connection = True
            self.send_error(500)
            return
        status, headers = answer
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        given_length = False
        for name, value in headers:
            if name.lower() == "connection":
                continue
            given_length = given_length or name.lower() == "content-length"
            self.send_header(name, value)
        if not given_length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # one line per request otherwise (werkzeug's logger is at WARNING anyway)


class _TablesUncopied:
    """moto.dynamodb.models' `copy` module, except that a Table is not copied while
    `active` (a transaction whose touched items were snapshotted)."""

    active = False

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if self.active and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


_TABLES_UNCOPIED = _TablesUncopied()
_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _touched_items(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[Table, DynamoType, DynamoType | None, Any]]:
    """(table, hash key, range key, a copy of the item or None) of each write."""
    touched = []
    for entry in transact_items:
        _operation, op = next(iter(entry.items()))
        table = backend.tables[op["TableName"]]
        key = op["Key"] if "Key" in op else op["Item"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
        touched.append((table, hash_key, range_key, copy.deepcopy(item)))
    return touched


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    try:
        touched = _touched_items(self, transact_items)
    except Exception:  # a malformed request: moto's own path finds and reports the fault
        _moto_transact_write_items(self, transact_items)
        return
    _TABLES_UNCOPIED.active = True
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(touched):
            holder = table.items[hash_key] if range_key is not None else table.items
            slot = range_key if range_key is not None else hash_key
            if item is None:
                holder.pop(slot, None)
            else:
                holder[slot] = item
        raise
    finally:
        _TABLES_UNCOPIED.active = False


def _copy_only_touched_items_in_transactions() -> None:
    dynamodb_models.copy = _TABLES_UNCOPIED  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


def create_tables(endpoint: str, schema_files: list[str]) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the emulator accepts any key
    )
    existing = set(client.list_tables()["TableNames"])
    for schema_file in schema_files:
        definition = json.loads(Path(schema_file).read_text())
        if definition["TableName"] not in existing:
            client.create_table(**definition)
        print(f"table {definition['TableName']} ready", flush=True)


def main() -> None:
    host, port, data_dir, schema_files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # else one log line per request
    _copy_only_touched_items_in_transactions()
    moto_app = DomainDispatcherApplication(create_backend_app)
    compact_bytes = int(os.environ.get("CLOUDMART_DYNAMODB_COMPACT_BYTES", COMPACT_BYTES))
    durable = Durable(moto_app, Journal(Path(data_dir), compact_bytes), f"http://{host}:{port}")
    started = time.monotonic()
    replayed = durable.load()
    if replayed:
        durable.compact()  # so that the next start reads one snapshot
    print(
        f"state restored from {data_dir} in {time.monotonic() - started:.1f} s "
        f"({replayed} journaled writes replayed)",
        flush=True,
    )
    app = SerialiseDynamoDB(moto_app, durable)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    serving = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    serving.start()
    create_tables(f"http://{host}:{port}", schema_files)
    print(f"DynamoDB emulator (moto, serialised) on http://{host}:{port}", flush=True)
    serving.join()


if __name__ == "__main__":
    main()
