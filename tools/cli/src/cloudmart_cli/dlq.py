"""`cloudmart dlq ...`: inspect `notifications-dlq` through the gateway, replay or discard records.

Every call goes through the gateway as an admin, so it is rate limited, logged and audited like
any other admin call; the CLI never talks to Kafka or Redis itself.
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import quote

import httpx
import typer

DEFAULT_GATEWAY = "http://127.0.0.1:5000"
# The local stack's seeded admin (architecture.md §4). Anywhere else, pass real credentials through
# the environment or a token from a login the operator did.
LOCAL_ADMIN_USERNAME = "admin"
LOCAL_ADMIN_PASSWORD = "admin-local-only"  # noqa: S105 (the documented local default)
TIMEOUT_SECONDS = 35.0  # the gateway gives a service 30 s
DLQ_PATH = "/api/notifications/dlq"

app = typer.Typer(
    no_args_is_help=True,
    help="Inspect the notifications dead-letter topic, replay or discard its records.",
)

Status = Literal["pending", "handled", "all"]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")]
RecordIds = Annotated[list[str], typer.Argument(help="Record ids (<partition>-<offset>).")]


class Failure(Exception):
    """An answer the command cannot go on from: a problem document, or no answer at all."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail", ""))
        self.status = status
        self.problem = problem

    def describe(self) -> str:
        title = self.problem.get("title", "Request failed")
        detail = self.problem.get("detail", "")
        kind = str(self.problem.get("type", "")).rsplit("/", 1)[-1]
        status = f"{self.status} " if self.status else ""
        suffix = f" [{kind}]" if kind and kind != "about:blank" else ""
        # Validation problems name the fields; without them "1 field failed" helps nobody.
        fields = [
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in self.problem.get("errors", ())
            if isinstance(error, dict)
        ]
        if fields:
            detail = f"{detail} ({'; '.join(fields)})"
        return f"{status}{title}: {detail}{suffix}"


@dataclass
class Gateway:
    """The admin's session with the gateway: logs in on first use unless given a token."""

    url: str
    username: str
    password: str
    token: str | None = None
    _http: httpx.Client | None = field(default=None, repr=False)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.token is None:
            self.token = self._login()
        headers = {"Authorization": f"Bearer {self.token}"}
        return _answer(self._send(method, path, headers=headers, **kwargs))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _login(self) -> str:
        body = {"username": self.username, "password": self.password}
        answer = _answer(self._send("POST", "/api/users/login", json=body))
        return str(answer["access_token"])

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=TIMEOUT_SECONDS)
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Failure(
                0,
                {
                    "title": "Gateway unreachable",
                    "detail": f"{method} {self.url}{path}: {type(exc).__name__}: {exc}",
                },
            ) from exc


def _answer(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    if response.status_code >= 400:
        problem = body if isinstance(body, dict) else {"detail": str(body)}
        problem.setdefault("title", response.reason_phrase)
        raise Failure(response.status_code, problem)
    return body


@app.callback()
def connect(
    ctx: typer.Context,
    gateway: Annotated[
        str, typer.Option("--gateway", envvar="CLOUDMART_GATEWAY_URL", help="Gateway base URL.")
    ] = DEFAULT_GATEWAY,
    username: Annotated[
        str,
        typer.Option("--username", envvar="CLOUDMART_ADMIN_USERNAME", help="Admin to log in as."),
    ] = LOCAL_ADMIN_USERNAME,
    password: Annotated[
        str,
        typer.Option(
            "--password",
            envvar="CLOUDMART_ADMIN_PASSWORD",
            help="The admin's password (default: the local stack's).",
            show_default=False,
        ),
    ] = LOCAL_ADMIN_PASSWORD,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CLOUDMART_TOKEN",
            help="An admin access token; no login then.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Connection options come before the command: `cloudmart dlq --gateway URL list`."""
    ctx.obj = Gateway(gateway.rstrip("/"), username, password, token)
    ctx.call_on_close(ctx.obj.close)


@contextmanager
def _reporting(as_json: bool) -> Iterator[None]:
    """A failure ends the command with exit code 1 and the problem on stderr."""
    try:
        yield
    except Failure as failure:
        _fail(failure, as_json)


def _fail(failure: Failure, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"status": failure.status, **failure.problem}), err=True)
    else:
        typer.echo(f"error: {failure.describe()}", err=True)
    raise typer.Exit(1)


@app.command("list")
def list_records(
    ctx: typer.Context,
    status: Annotated[
        Status, typer.Option("--status", help="pending (not yet handled), handled, or all.")
    ] = "pending",
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="From a previous page.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Dead letters, oldest first; replayed and discarded ones only with --status."""
    gateway: Gateway = ctx.obj
    params: dict[str, Any] = {"status": status, "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    with _reporting(as_json):
        page = gateway.call("GET", DLQ_PATH, params=params)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    rows = [
        [
            item["id"],
            item["dead_lettered_at"],
            _origin(item),
            item["event_type"] or "-",
            item["event_id"] or "-",
            str(item["attempts"]),
            f"{item['replay_count']}/{item['max_replays']}",
            item["state"],
            _clip(item["error"], 60),
        ]
        for item in page["items"]
    ]
    headings = ["ID", "DEAD-LETTERED", "FROM", "EVENT TYPE", "EVENT ID", "TRIES", "REPLAYS"]
    _table([*headings, "STATE", "ERROR"], rows)
    if not rows:
        typer.echo(f"no dead letters ({status})")
    if page.get("next_cursor"):
        typer.echo(f"more: cloudmart dlq list --status {status} --cursor {page['next_cursor']}")


@app.command()
def show(ctx: typer.Context, record_id: str, as_json: JsonOption = False) -> None:
    """One record: where it came from, why it failed, its headers and its event."""
    gateway: Gateway = ctx.obj
    with _reporting(as_json):
        record = gateway.call("GET", f"{DLQ_PATH}/{_segment(record_id)}")
    if as_json:
        typer.echo(json.dumps(record, indent=2))
        return
    fields = [
        ("id", record["id"]),
        ("state", record["state"]),
        ("dead-lettered at", record["dead_lettered_at"]),
        ("from", _origin(record)),
        ("key", record["key"] or "-"),
        ("consumer group", record["consumer_group"] or "-"),
        ("event type", record["event_type"] or "-"),
        ("event id", record["event_id"] or "-"),
        ("attempts", record["attempts"]),
        ("replays", f"{record['replay_count']} of at most {record['max_replays']}"),
        ("error", record["error"]),
    ]
    if record["handled_by"]:
        fields += [
            ("handled by", record["handled_by"]),
            ("handled at", record["handled_at"]),
            ("reason", record["reason"] or "-"),
        ]
    if record["replayed_to"]:
        fields.append(("replayed to", record["replayed_to"]))
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        typer.echo(f"{name:<{width}}  {value}")
    typer.echo("headers:")
    for name, value in record["headers"].items():
        typer.echo(f"  {name}: {value}")
    typer.echo("value:")
    value = record["value"]
    text = value if isinstance(value, str) else json.dumps(value, indent=2)
    typer.echo("\n".join(f"  {line}" for line in text.splitlines()))


@app.command()
def replay(
    ctx: typer.Context,
    record_ids: RecordIds,
    reason: ReasonOption = "",
    as_json: JsonOption = False,
) -> None:
    """Publish records again to the topic they came from (each at most `max_replays` times)."""
    _act(ctx.obj, "replay", record_ids, reason, as_json)


@app.command()
def discard(
    ctx: typer.Context,
    record_ids: RecordIds,
    reason: ReasonOption = "",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Mark records handled without replaying them; they are hidden from `list`."""
    if not yes:
        typer.confirm(f"Discard {', '.join(record_ids)}? They will not be replayed", abort=True)
    _act(ctx.obj, "discard", record_ids, reason, as_json)


@app.command()
def audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="From a previous page.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who replayed or discarded what, and when (refusals included), newest first."""
    gateway: Gateway = ctx.obj
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    with _reporting(as_json):
        page = gateway.call("GET", f"{DLQ_PATH}/audit", params=params)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    rows = [
        [
            entry["at"],
            entry["actor_role"] + ":" + entry["actor"],
            entry["action"],
            entry["record_id"],
            entry["outcome"],
            _clip(entry["replayed_to"] or entry["detail"] or entry["reason"], 70),
        ]
        for entry in page["items"]
    ]
    _table(["AT", "WHO", "ACTION", "RECORD", "OUTCOME", "DETAIL"], rows)
    if page.get("next_cursor"):
        typer.echo(f"more: cloudmart dlq audit --cursor {page['next_cursor']}")


def _act(
    gateway: Gateway,
    action: Literal["replay", "discard"],
    record_ids: Sequence[str],
    reason: str,
    as_json: bool,
) -> None:
    """One call per record; the rest still go when one is refused, and the exit code says so."""
    done: list[Any] = []
    failures: list[tuple[str, Failure]] = []
    for record_id in record_ids:
        try:
            body = {"reason": reason} if reason else None
            done.append(
                gateway.call("POST", f"{DLQ_PATH}/{_segment(record_id)}/{action}", json=body)
            )
        except Failure as failure:
            if failure.status in (0, 401):  # no gateway, or bad credentials: stop here
                _fail(failure, as_json)
            failures.append((record_id, failure))
    if as_json:
        typer.echo(json.dumps(done, indent=2))
    for record in done:
        if not as_json:
            typer.echo(_outcome(record))
    for record_id, refused in failures:
        message = (
            json.dumps({"id": record_id, "status": refused.status, **refused.problem})
            if as_json
            else f"error: {record_id}: {refused.describe()}"
        )
        typer.echo(message, err=True)
    if failures:
        raise typer.Exit(1)


def _outcome(record: dict[str, Any]) -> str:
    if record["state"] == "replayed":
        return (
            f"{record['id']} replayed to {record['replayed_to']} "
            f"(replay {record['replay_count'] + 1} of at most {record['max_replays']})"
        )
    return f"{record['id']} {record['state']}"


def _segment(record_id: str) -> str:
    """A record id as one path segment: whatever was typed never reaches another route."""
    return quote(record_id, safe="")


def _origin(record: dict[str, Any]) -> str:
    topic = record.get("original_topic")
    if topic is None:
        return "-"
    return f"{topic}/{record.get('original_partition')}/{record.get('original_offset')}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headings: list[str], rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headings, *rows, strict=True)
    ]
    for row in [headings, *rows]:
        line = "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo(line.rstrip())
