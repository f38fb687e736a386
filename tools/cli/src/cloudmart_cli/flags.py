"""`cloudmart flags list|set|reset`: switch the named faults of the local stack (ADR 0020).

The faults are flagd flags in one file that flagd watches; every service evaluates them in
process and sees a change within about a second. This edits that file: each flag keeps an
`off` and an `on` variant, `set` writes the value into `on` and selects it, `reset` puts the
committed definition back. Writes are atomic (a whole new file renamed over the old one) and
serialised by a lock, so flagd never reads half a file and two edits never lose one another.
"""

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

app = typer.Typer(no_args_is_help=True, help="Fault flags of the local stack (flagd).")

FILE_ENV = "CLOUDMART_FAULT_FLAGS_FILE"
# tools/cli/src/cloudmart_cli/flags.py -> the repository (the workspace installs it editable).
_REPO = Path(__file__).resolve().parents[4]
DEFAULTS = _REPO / "deploy" / "flags" / "faults.flagd.json"
_LIVE = _REPO / ".cloudmart" / "run" / "flagd" / "faults.flagd.json"
_ON_WORDS = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}

FileOption = Annotated[
    Path | None,
    typer.Option("--file", help=f"The watched flag file [env {FILE_ENV}; default: local stack]"),
]


class FlagError(ValueError):
    """An unknown flag or a value that does not fit it."""


def live_file(file: Path | None = None) -> Path:
    return file or Path(os.environ.get(FILE_ENV) or _LIVE)


def read_flags(file: Path | None = None) -> dict[str, dict[str, Any]]:
    path = live_file(file)
    if not path.exists():
        raise FlagError(f"{path} does not exist: is the local stack up (make up)?")
    flags: dict[str, dict[str, Any]] = json.loads(path.read_text())["flags"]
    return flags


def current_value(spec: dict[str, Any]) -> Any:
    return spec["variants"][spec["defaultVariant"]]


def set_flag(name: str, value: str | int | bool, file: Path | None = None) -> Any:
    """Switch one fault: `value` as given or as typed on a command line. Returns it, typed."""
    with _editing(file) as document:
        spec = _spec(document, name)
        typed = _typed(name, spec, value)
        if typed == spec["variants"]["off"]:
            spec["defaultVariant"] = "off"
        else:
            spec["variants"]["on"] = typed
            spec["defaultVariant"] = "on"
    return typed


def reset_flags(names: Sequence[str] = (), file: Path | None = None) -> list[str]:
    """The committed definitions back (all faults off); only `names` when given."""
    committed: dict[str, Any] = json.loads(DEFAULTS.read_text())["flags"]
    with _editing(file) as document:
        for name in names:
            _spec(document, name)
        chosen = list(names) or sorted(set(committed) | set(document["flags"]))
        for name in chosen:
            if name in committed:
                document["flags"][name] = committed[name]
            else:
                del document["flags"][name]  # a flag the repository no longer has
    return chosen


@app.command("list")
def list_flags(file: FileOption = None) -> None:
    """Each fault, its current value and what it does."""
    try:
        flags = read_flags(file)
    except FlagError as exc:
        _fail(exc)
    width = max(map(len, flags), default=0)
    for name, spec in sorted(flags.items()):
        shown = f"{json.dumps(current_value(spec)):<6}"
        if spec["defaultVariant"] != "off":
            shown = typer.style(shown, fg=typer.colors.RED, bold=True)
        description = spec.get("metadata", {}).get("description", "")
        typer.echo(f"{name:<{width}}  {shown}  {description}")


@app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help="A flag from `cloudmart flags list`")],
    value: Annotated[str, typer.Argument(help="on/off for switches, a number for the others")],
    file: FileOption = None,
) -> None:
    """Switch a fault on (or off, or to another value); services follow within seconds."""
    try:
        typed = set_flag(name, value, file)
    except FlagError as exc:
        _fail(exc)
    typer.echo(f"{name} = {json.dumps(typed)}")


@app.command("reset")
def reset_command(
    names: Annotated[list[str] | None, typer.Argument(help="Flags to reset (default: all)")] = None,
    file: FileOption = None,
) -> None:
    """Back to the committed definitions: every fault (or the ones named) off."""
    try:
        reset = reset_flags(names or (), file)
    except FlagError as exc:
        _fail(exc)
    typer.echo(f"reset: {', '.join(reset)}")


def _fail(exc: Exception) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _spec(document: dict[str, Any], name: str) -> dict[str, Any]:
    flags: dict[str, dict[str, Any]] = document["flags"]
    if name not in flags:
        raise FlagError(f"no flag {name!r}; known: {', '.join(sorted(flags))}")
    return flags[name]


def _typed(name: str, spec: dict[str, Any], value: str | int | bool) -> bool | int:
    off = spec["variants"]["off"]
    if isinstance(off, bool):
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word not in _ON_WORDS:
            raise FlagError(f"{name} is a switch: on or off, not {value!r}")
        return _ON_WORDS[word]
    if isinstance(value, bool):
        raise FlagError(f"{name} takes a number, not {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise FlagError(f"{name} takes a whole number, not {value!r}") from None
    upper = 100 if name.endswith("-percent") else None
    if number < 0 or (upper is not None and number > upper):
        raise FlagError(f"{name} takes 0..{upper or 'any'}, not {number}")
    return number


@contextmanager
def _editing(file: Path | None) -> Iterator[dict[str, Any]]:
    """The flag document to change in place; written back atomically when the block ends."""
    path = live_file(file)
    read_flags(path)  # the same "is the stack up" error as `list`
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        document: dict[str, Any] = json.loads(path.read_text())
        yield document
        handle, staged = tempfile.mkstemp(dir=path.parent, prefix=".flags-", suffix=".json")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(document, out, indent=2)
                out.write("\n")
            os.replace(staged, path)
        except BaseException:
            Path(staged).unlink(missing_ok=True)
            raise
