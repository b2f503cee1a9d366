"""The read side: metrics, assessment and check as JSON documents, the same as the CLI's `--format json`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from northstar.server.state import ServerState

__all__ = ["MAX_PERIODS", "ReadError", "assessment_document", "check_document", "jsonable", "metrics_document"]


MAX_PERIODS = 1000
"""The longest window `/v1/metrics` computes, in periods (a request is bounded work; the CLI has no limit)."""
_PERIOD_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44, "quarter": 91.31}


class ReadError(ValueError):
    """A query the catalog or the config cannot answer: the client's mistake (400)."""


def jsonable(value: Any) -> Any:
    """Plain JSON data: dates as ISO strings, NaN as null, ±inf as "inf"/"-inf" (as the CLI prints them)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return jsonable(value.item())
    return value


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def metrics_document(
    state: ServerState,
    names: Sequence[str] | None,
    *,
    category: str | None = None,
    period: Literal["day", "week", "month", "quarter"] = "week",
    by: str | None = None,
    since: date | None = None,
    until: date | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    """`northstar metrics --format json` for the store the server holds."""
    from northstar.metrics import CATEGORIES, MetricsError, Query, compute

    if category is not None and category not in CATEGORIES:
        raise ReadError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    if since is not None:
        end = until or date.today()
        periods = (end - since).days / _PERIOD_DAYS[period]
        if periods > MAX_PERIODS:
            raise ReadError(
                f"the window {since} – {end} is {periods:,.0f} {period}s; the API computes at most {MAX_PERIODS:,} "
                "periods per request: narrow --since/--until or use a longer period"
            )
    query = Query(period=period, by=by, unit=unit, since=_midnight(since), until=_midnight(until))
    with state.reader() as con:
        try:
            result = compute(con, list(names) or None if names else None, query, state.settings, category=category)
        except MetricsError as exc:
            raise ReadError(str(exc)) from None
    doc: dict[str, Any] = jsonable(result.to_dict())
    return doc


def assessment_document(state: ServerState, until: date | None = None) -> dict[str, Any]:
    """`northstar assess --format json`."""
    from northstar.framework import assess

    with state.reader() as con:
        doc: dict[str, Any] = jsonable(assess(con, state.settings, until=_midnight(until)).to_dict())
    return doc


def check_document(state: ServerState, as_of: date | None = None, strict: bool = False) -> dict[str, Any]:
    """`northstar check --format json`, with `exit_code` as the CLI would exit (1 when a KPI is breached)."""
    from northstar.framework import SeriesError, SeriesSource, assess, lint, run_check

    settings = state.settings
    until = _midnight(as_of)
    with state.reader() as con:
        a = assess(con, settings, until=until)
        day = as_of or (a.as_of if a.as_of else date.today())
        src = SeriesSource(con, settings, day, until=until)
        report = lint(settings, assessment=a, series=src, as_of=day)
        if report.config_errors:
            raise ReadError("; ".join(f.text(settings.source) for f in report.config_errors))
        try:
            result = run_check(settings, src, report)
        except SeriesError as exc:
            raise ReadError(f"{settings.source or 'config'}: {exc}") from None
        doc: dict[str, Any] = jsonable(result.to_dict(strict))
    doc.setdefault("exit_code", result.exit_code(strict))
    return doc
