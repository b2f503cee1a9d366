"""`northstar sync`: pull from the connectors in northstar.yaml, incrementally, one summary row per kind."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from northstar.cli import app
from northstar.cli._common import (
    DEFAULT_DB,
    ConfigOption,
    DbOption,
    Format,
    FormatOption,
    err_console,
    fail,
    print_rows,
)


class OnError(StrEnum):
    reject = "reject"
    quarantine = "quarantine"


_COLUMNS = (
    "connector",
    "type",
    "status",
    "kind",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "seconds",
    "error",
)


@app.command(
    "sync",
    epilog=(
        "Examples:\n\n"
        "    northstar sync\n\n"
        "    northstar sync platform-repo support-slack --format json\n\n"
        "See docs/connectors/ for each connector's config."
    ),
)
def sync(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Connector names from `connectors:` (default: all).", show_default=False, metavar="NAME..."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    on_error: Annotated[
        OnError,
        typer.Option(
            "--on-error",
            help="reject: a bad record fails its connector (nothing of it is stored); quarantine: keep it aside.",
        ),
    ] = OnError.reject,
    fmt: FormatOption = Format.table,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Progress display (default: on a terminal).")
    ] = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", min=0, help="Seconds to wait for another writer.", show_default=True)
    ] = 10.0,
) -> None:
    """Pull from the connectors in northstar.yaml, incrementally (each keeps a cursor in the store).

    Each connector runs in its own transaction: one that fails (unreachable, unauthorised, malformed data)
    stores nothing and is reported with its name, and the others still run. Exit code 1 when a connector
    failed, 2 when the config is invalid.
    """
    from northstar.config import ConfigError, load_config
    from northstar.connectors import ConnectorConfigError
    from northstar.connectors.run import sync as run_sync
    from northstar.store import Store, StoreError, StoreLocked

    try:
        settings = load_config(config)
    except ConfigError as exc:
        fail(f"invalid config {config or 'northstar.yaml'}", exc.problems)
    if not settings.connectors:
        fail("no connectors configured: add a `connectors:` section to northstar.yaml (see docs/connectors/)")
    source = settings.source
    show = progress if progress is not None else err_console.is_terminal
    try:
        with Store.open(db, lock_timeout=lock_timeout) as store, _Display(show) as display:
            results = run_sync(
                store,
                settings.connectors,
                names or (),
                base_dir=source.parent if source is not None else None,
                config_name=str(source or "northstar.yaml"),
                on_error=on_error.value,
                pseudonymize=bool(settings.privacy.pseudonymize),
                key=settings.privacy.key,
                progress=display.update,
                on_start=display.start,
            )
    except ConnectorConfigError as exc:
        fail(exc.problems[0], exc.problems[1:])
    except StoreLocked as exc:
        fail(str(exc), code=1)
    except StoreError as exc:
        fail(str(exc))
    rows = [row for r in results for row in r.summary_rows()]
    print_rows(rows, fmt, title="sync", columns=_COLUMNS, json_wrap=lambda rs: {"connectors": rs})
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        for line in r.details:
            err_console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] {r.error}", highlight=False, soft_wrap=True)
    if any(r.error and r.error.endswith("invalid config") for r in failed):
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


class _Display:
    """A Rich spinner per connector with the rows read so far, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        if enabled:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console
            )

    def __enter__(self) -> _Display:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, name: str) -> None:
        if self.bar is not None:
            self.tasks[name] = self.bar.add_task(f"{name}: connecting", total=None)

    def update(self, name: str, kind: str, rows: int) -> None:
        if self.bar is not None and name in self.tasks:
            self.bar.update(self.tasks[name], description=f"{name}: {rows:,} rows read ({kind})")
