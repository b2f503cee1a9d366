"""The `northstar` command line: thin Typer commands that parse, call the library and print."""

from __future__ import annotations

import typer

from northstar import __version__

app = typer.Typer(
    name="northstar",
    help=(
        "Measure an internal ML platform the way a product team measures a product: which layer the "
        "platform really reached, North Star metrics for adoption, delivery and reliability, "
        "satisfaction, and the ROI of platform initiatives.\n\n"
        "Start with `northstar demo`, then `northstar init` and `northstar ingest` for your own data."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"northstar {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """northstar: North Star metrics for ML platforms."""


def _register() -> None:
    # Each module adds its commands to `app`; imported here so `northstar --help` lists them all.
    import importlib

    for name in ("data", "config", "demo", "metrics", "framework", "impact", "server", "sync", "report"):
        try:
            importlib.import_module(f"northstar.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"northstar.cli.{name}":
                raise


_register()


def main() -> None:
    """Entry point of the `northstar` command."""
    app()
