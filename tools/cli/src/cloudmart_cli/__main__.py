"""`cloudmart <group> <command>`: one Typer app; each group lives in its own module."""

import typer

from cloudmart_cli import dlq, flags

app = typer.Typer(no_args_is_help=True, help="Operate a running CloudMart (local or deployed).")
app.add_typer(dlq.app, name="dlq")
app.add_typer(flags.app, name="flags")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
