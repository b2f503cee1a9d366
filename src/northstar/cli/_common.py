"""Options, output and error handling shared by every command (the CLI holds no logic of its own)."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar="NORTHSTAR_DB",
        help="The DuckDB store file (env NORTHSTAR_DB).",
        show_default=True,
    ),
]
DEFAULT_DB = Path("northstar.duckdb")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="NORTHSTAR_CONFIG",
        help="northstar.yaml (env NORTHSTAR_CONFIG; default ./northstar.yaml if present, else built-in defaults).",
    ),
]

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class UserError(Exception):
    """A problem with the user's input or config: printed as one line (plus details), exit code 2."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


def fail(message: str, details: Sequence[str] = (), code: int = 2) -> NoReturn:
    """Print `error: message` (and details) to stderr and exit with `code`."""
    for line in details:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn UserError (and the library's own validation errors) into exit code 2 with a clear message."""
    from northstar.config import ConfigError

    try:
        yield
    except UserError as exc:
        fail(str(exc), exc.details)
    except ConfigError as exc:
        problems = str(exc).splitlines()
        fail(f"{len(problems)} problem(s) in the config; the first: {problems[0]}", problems)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def to_json(obj: Any) -> str:
    """JSON text for any report object (dates as ISO strings, NaN as null)."""

    def walk(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): walk(v) for k, v in o.items()}
        if isinstance(o, list | tuple):
            return [walk(v) for v in o]
        return _jsonable(o)

    return json.dumps(walk(obj), indent=2, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6g}"
    return str(_jsonable(value))


def print_rows(
    rows: list[dict[str, Any]],
    fmt: Format,
    *,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    json_wrap: Callable[[list[dict[str, Any]]], Any] | None = None,
) -> None:
    """Print rows as a Rich table, JSON (optionally wrapped in an object) or CSV."""
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if fmt is Format.json:
        sys.stdout.write(to_json(json_wrap(rows) if json_wrap else rows) + "\n")
        return
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _cell(r.get(k)) for k in cols})
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title, show_lines=False)
    for i, c in enumerate(cols):
        table.add_column(c, overflow="fold", no_wrap=i == 0)
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in cols))
    console.print(table)
