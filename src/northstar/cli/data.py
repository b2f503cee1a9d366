"""`northstar ingest` and `northstar quarantine`: load files into the store, list the rows kept aside."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
from northstar.records import KINDS

_KINDS = ", ".join(KINDS)


class OnError(StrEnum):
    reject = "reject"
    quarantine = "quarantine"


LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait while another northstar process is writing to the store.",
        show_default=True,
    ),
]


def _privacy(config: Path | None) -> tuple[bool, str | None]:
    """`privacy.pseudonymize` and `privacy.key` from the config (off when config support is absent)."""
    try:
        from northstar.config import ConfigError, load_config
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("northstar.config"):
            return False, None
        raise
    try:
        settings = load_config(config)
    except ConfigError as exc:
        fail(f"invalid config {config or 'northstar.yaml'}", exc.problems)
    return bool(settings.privacy.pseudonymize), settings.privacy.key


@app.command(
    "ingest",
    epilog=(
        "Examples:\n\n"
        "    northstar ingest activity events-2025-*.csv.gz\n\n"
        "    northstar ingest deployments deploys.parquet --on-error quarantine --db metrics.duckdb"
    ),
)
def ingest(
    kind: Annotated[str, typer.Argument(help=f"Record kind, one of: {_KINDS}.", show_default=False, metavar="KIND")],
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files to load: .csv, .jsonl/.ndjson/.json (one object per line) or .parquet, optionally .gz.",
            show_default=False,
            metavar="PATH...",
        ),
    ],
    on_error: Annotated[
        OnError,
        typer.Option(
            "--on-error",
            help=(
                "reject: one bad row rejects everything and the store is unchanged (the bad rows are listed "
                "as PATH:LINE: field: reason). quarantine: load the good rows and keep the bad ones in the "
                "quarantine table (see `northstar quarantine`)."
            ),
        ),
    ] = OnError.reject,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    lock_timeout: LockTimeoutOption = 10.0,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal, for large inputs)."),
    ] = None,
) -> None:
    """Load record files into the store, idempotently by `id`, all files in one transaction.

    Every file is validated against the record kind's fields (DESIGN.md §2) before anything is written:
    the same file loaded twice changes nothing, a row whose id exists with other values replaces it.
    Timestamps are ISO-8601; one without an offset is UTC.
    """
    from northstar.ingest import IngestError, IngestRejected, ingest_files
    from northstar.store import Store, StoreError, StoreLocked

    if kind not in KINDS:
        fail(f"unknown kind {kind!r}; the kinds are: {_KINDS}")
    pseudonymize, key = _privacy(config)
    try:
        with Store.open(db, lock_timeout=lock_timeout) as store:
            result = ingest_files(
                store, kind, paths, on_error=on_error.value, pseudonymize=pseudonymize, key=key, progress=progress
            )
    except IngestRejected as exc:
        fail(str(exc), exc.details())
    except IngestError as exc:
        fail(str(exc))
    except StoreLocked as exc:
        fail(str(exc), code=1)
    except StoreError as exc:
        fail(str(exc))
    typer.echo(result.summary())
    if result.quarantined:
        err_console.print(
            f"{result.quarantined:,} bad rows were quarantined; list them with `northstar quarantine --kind {kind}`",
            highlight=False,
            soft_wrap=True,
        )


@app.command("quarantine", epilog="Example:\n\n    northstar quarantine --kind activity --format csv > bad-rows.csv")
def quarantine(
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help=f"Only rows of this kind ({_KINDS}).", show_default=False)
    ] = None,
    db: DbOption = DEFAULT_DB,
    fmt: FormatOption = Format.table,
    clear: Annotated[
        bool, typer.Option("--clear", help="Delete the listed rows from the quarantine after printing them.")
    ] = False,
    lock_timeout: LockTimeoutOption = 10.0,
) -> None:
    """List the rows that `northstar ingest --on-error quarantine` kept aside, with where and why.

    Each row has its kind, path, line (for Parquet: row number), the first bad field, the reason, the row as
    it was written, and when it was quarantined. Fix the rows and ingest them again.
    """
    from northstar.store import Store, StoreError, StoreLocked

    if kind is not None and kind not in KINDS:
        fail(f"unknown kind {kind!r}; the kinds are: {_KINDS}")
    try:
        with Store.open(db, read_only=not clear, lock_timeout=lock_timeout) as store:
            rows = store.quarantined(kind)
            if clear:
                store.clear_quarantine(kind)
    except StoreLocked as exc:
        fail(str(exc), code=1)
    except StoreError as exc:
        fail(str(exc))
    if fmt is Format.table and not rows:
        err_console.print("no quarantined rows" + (f" of kind {kind}" if kind else ""), highlight=False)
        return
    print_rows(rows, fmt, title="quarantine")
    if clear:
        err_console.print(f"cleared {len(rows):,} rows from the quarantine", highlight=False)


@app.command("upgrade", epilog="Example:\n\n    northstar upgrade --db northstar.duckdb")
def upgrade(db: DbOption = DEFAULT_DB, lock_timeout: LockTimeoutOption = 10.0) -> None:
    """Bring a store written by an older northstar to this version's schema, in one transaction.

    Commands that only read (metrics, report, …) refuse a store with an older schema; this runs the
    migrations (e.g. building the rollup tables from the stored records; about 20 s for 10M events) without
    loading anything. Ingest and sync do the same on their first write.
    """
    from northstar.store import SCHEMA_VERSION, Store, StoreError, StoreLocked

    if not db.exists():
        fail(f"no store at {db} (pass --db)")
    try:
        with Store.open(db, read_only=True) as store:
            before = store.schema_version()
    except StoreError:
        before = None  # older: opening read-only refuses it
    try:
        with Store.open(db, lock_timeout=lock_timeout) as store:
            after = store.schema_version()
    except StoreLocked as exc:
        fail(str(exc), code=1)
    except StoreError as exc:
        fail(str(exc))
    if before == SCHEMA_VERSION:
        err_console.print(f"{db}: already at schema version {after}", highlight=False)
    else:
        err_console.print(f"{db}: upgraded to schema version {after}", highlight=False)
