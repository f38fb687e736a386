"""The local DynamoDB emulator: moto server with DynamoDB requests serialised, tables created.

usage: python emulator.py HOST PORT TABLE_SCHEMA.json [TABLE_SCHEMA.json ...]

Runs in its own venv (local/dynamodb/requirements.txt). Why a wrapper around moto_server:
- moto's TransactWriteItems takes no lock and, when cancelled, restores a table copy taken before
  concurrent writes, so stock could be oversold; one lock around DynamoDB requests fixes that.
  Other services (S3, SQS long polls) stay concurrent.
- every transaction deep-copies the table and moto keeps each copy in `instances_tracked`
  (only its dashboard reads it): we empty those lists after each DynamoDB request.
- moto keeps nothing across restarts, so the tables are created again at every start from the
  same schema files the services and Terraform read.
"""

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from moto.core.model_instances import model_data
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

StartResponse = Callable[..., Any]


class SerialiseDynamoDB:
    """WSGI middleware: DynamoDB requests one at a time, response body read inside the lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                for model in model_data["dynamodb"].values():
                    model.instances_tracked = []  # type: ignore[attr-defined]


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
    host, port, schema_files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # else one log line per request
    app = SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    serving = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    serving.start()
    create_tables(f"http://{host}:{port}", schema_files)
    print(f"DynamoDB emulator (moto, serialised) on http://{host}:{port}", flush=True)
    serving.join()


if __name__ == "__main__":
    main()
