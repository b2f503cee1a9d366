"""`northstar catalog` and `northstar metrics`: the metric catalog and its values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from northstar.cli import app
from northstar.cli._common import (
    DEFAULT_DB,
    ConfigOption,
    DbOption,
    Format,
    FormatOption,
    UserError,
    err_console,
    print_rows,
    to_json,
    user_errors,
)


class Period(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"


class By(StrEnum):
    team = "team"
    component = "component"
    service = "service"


class UnitOfAnalysis(StrEnum):
    team = "team"
    user = "user"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@contextmanager
def open_backend(db: Path, engine: Engine = Engine.duckdb) -> Iterator[Any]:
    """The Ibis backend to compute on: the DuckDB store itself, or Spark loaded from it."""
    from northstar.store import Store, StoreError

    if not db.exists():
        raise UserError(f"no store at {db}: run `northstar demo` or `northstar ingest KIND FILE` first (or pass --db)")
    try:
        store = Store.open(db, read_only=True)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    try:
        if engine is Engine.duckdb:
            yield store.ibis
            return
        from northstar.engines import connect_spark, load_tables
        from northstar.records import KINDS

        # the record kinds only: load_tables derives the rest (reading the store's copies would be wasted)
        tables = {name: store.ibis.table(name).to_pyarrow() for name in KINDS}
        con = connect_spark()
        load_tables(con, tables)
        yield con
    finally:
        store.close()


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


@app.command()
def catalog(
    category: Annotated[str | None, typer.Option("--category", "-c", help="Only this category.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """List the metrics with their metadata: question, unit, direction, kind, layer, breakdowns.

    Example: `northstar catalog --category delivery --format json`
    """
    from northstar.metrics import CATEGORIES, REGISTRY, names

    with user_errors():
        if category and category not in CATEGORIES:
            raise UserError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
        rows = [REGISTRY[n].metadata() for n in names(category)]
    if fmt is Format.table:
        arrows = {"higher_is_better": "↑", "lower_is_better": "↓"}
        cols = ["name", "category", "unit", "better", "kind", "layer", "question"]
        table_rows = [{**r, "better": arrows[r["direction"]]} for r in rows]
        print_rows(table_rows, fmt, columns=cols, title="northstar metric catalog (↑ higher is better, ↓ lower)")
    else:
        print_rows(rows, fmt, json_wrap=lambda rs: {"metrics": rs})


@app.command()
def metrics(
    names: Annotated[list[str] | None, typer.Argument(help="Metric names (default: every metric).")] = None,
    category: Annotated[
        str | None, typer.Option("--category", "-c", help="adoption, delivery, reliability, satisfaction, …")
    ] = None,
    period: Annotated[Period, typer.Option("--period", "-p", help="The period grid (UTC; ISO weeks).")] = Period.week,
    by: Annotated[By | None, typer.Option("--by", help="Break down by team, component or service.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Window start (inclusive), YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (exclusive), YYYY-MM-DD.")] = None,
    unit: Annotated[
        UnitOfAnalysis | None, typer.Option("--unit", help="Unit of analysis for adoption metrics: team or user.")
    ] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="Compute on DuckDB (default) or Spark.")] = Engine.duckdb,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Compute metrics from the store, per period (and group).

    Without names, every metric of the catalog (or of `--category`). Empty periods are null (counts are 0);
    values from fewer than `privacy.min_group_size` people are suppressed.

    Examples:

    `northstar metrics adoption_rate churn_rate --period month`

    `northstar metrics --category delivery --by team --since 2026-01-01 --format json`
    """
    from northstar.cli.config import load_settings
    from northstar.metrics import MetricsError, Query, compute

    with user_errors():
        settings = load_settings(config)
        query = Query(
            period=period.value,
            by=by.value if by else None,
            unit=unit.value if unit else None,
            since=_date(since, "--since"),
            until=_date(until, "--until"),
        )
        with open_backend(db, engine) as con:
            try:
                if fmt is Format.table:
                    with err_console.status("computing metrics…") as status:
                        result = compute(
                            con,
                            names or None,
                            query,
                            settings,
                            category=category,
                            progress=lambda n: status.update(f"computing {n}…"),
                        )
                else:
                    result = compute(con, names or None, query, settings, category=category)
            except MetricsError as exc:
                raise UserError(str(exc)) from None
    if fmt is Format.json:
        typer.echo(to_json(result.to_dict()))
        return
    base = ["metric", "period_start", "group", "value", "n"]
    extras = sorted({k for r in result.rows for k in r} - {*base, "period", "by"})
    print_rows(result.rows, fmt, columns=base + extras, title=f"northstar metrics ({period.value})")
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
