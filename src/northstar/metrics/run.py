"""Run catalog metrics on an Ibis backend: execute, fill the period grid, apply privacy, shape the rows.

The shape is DESIGN.md §6: `{"rows": [{"metric", "period", "period_start", "by", "group", "value", "n",
...extras, "suppressed"?}], "warnings": [...]}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import pandas as pd

from northstar.metrics import catalog
from northstar.metrics.context import Context, Query, period_floor, period_starts

__all__ = ["MetricsError", "Result", "compute", "data_extent"]

# the timestamp that places each kind's records in time (for the default window)
EVENT_TIME: dict[str, str] = {
    "activity": "ts",
    "changes": "created_at",
    "deployments": "finished_at",
    "incidents": "opened_at",
    "service_samples": "ts",
    "survey_responses": "ts",
    "support_messages": "ts",
}


class MetricsError(ValueError):
    """A query the catalog cannot answer (unknown metric, unsupported breakdown, …)."""


@dataclass
class Result:
    """Rows in the DESIGN.md §6 shape, plus data warnings."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "warnings": self.warnings}


def data_extent(con: Any) -> tuple[datetime, datetime] | None:
    """The first and last event time over every kind with a timestamp (None for an empty store)."""
    parts = []
    for kind, col in EVENT_TIME.items():
        t = con.table(kind)
        parts.append(t.select(ts=t[col].cast("timestamp")))
    u = ibis.union(*parts)
    row = con.execute(u.aggregate(lo=u.ts.min(), hi=u.ts.max()))
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        return None
    return pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()


def _window(con: Any, query: Query) -> tuple[datetime, datetime]:
    since, until = query.since, query.until
    if since is None or until is None:
        extent = data_extent(con)
        if extent is None:
            now = datetime.now().replace(microsecond=0)
            extent = (now, now)
        lo, hi = extent
        since = since or period_floor(lo, query.period)
        until = until or (hi + timedelta(microseconds=1))
    if until <= since:
        raise MetricsError(f"--until ({until:%Y-%m-%d}) must be after --since ({since:%Y-%m-%d})")
    return since, until


def _is_midnight(ts: datetime) -> bool:
    return ts == datetime(ts.year, ts.month, ts.day)


def _select(names: Sequence[str] | None, category: str | None, by: str | None) -> list[catalog.Metric]:
    if names:
        metrics = []
        for n in names:
            try:
                m = catalog.get(n)
            except KeyError as exc:
                raise MetricsError(str(exc.args[0])) from None
            if category and m.category != category:
                raise MetricsError(f"metric {n!r} is in category {m.category!r}, not {category!r}")
            if by and by not in m.dims:
                opts = ", ".join(m.dims) or "none"
                raise MetricsError(f"metric {n!r} cannot be broken down by {by} (it can by: {opts})")
            metrics.append(m)
        return metrics
    if category and category not in catalog.CATEGORIES:
        raise MetricsError(f"unknown category {category!r}; use one of {', '.join(catalog.CATEGORIES)}")
    return [catalog.get(n) for n in catalog.names(category) if by is None or by in catalog.get(n).dims]


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def _frame_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [{c: _clean(v) for c, v in zip(cols, rec, strict=True)} for rec in df.itertuples(index=False, name=None)]


def _grid_fill(
    m: catalog.Metric, ctx: Context, rows: list[dict[str, Any]], periods: list[datetime]
) -> list[dict[str, Any]]:
    """Add the empty periods: null value (0 for counts) and n = 0, for every group and fill key seen."""
    fills: list[dict[str, Any]] = [dict(f) for f in (m.fill(ctx) if m.fill else [{}])]
    groups = sorted({r["group"] for r in rows if r["group"] is not None}) if ctx.by else [None]
    have = {(r["period_start"], r["group"], *(r.get(k) for k in fills[0])) for r in rows}
    out = list(rows)
    for p in periods:
        for g in groups:
            for f in fills:
                key = (p, g, *f.values())
                if key in have:
                    continue
                row: dict[str, Any] = {"period_start": p, "group": g, "value": 0.0 if m.is_count else None, "n": 0}
                if m.is_count:
                    row.update({k: 0 for k in m.extra})
                row.update(f)
                out.append(row)
    return out


IDENTITY_EXTRAS = frozenset({"cohort", "offset", "step", "step_index", "state", "key", "slo", "severity", "dimension"})


def _shape(m: catalog.Metric, ctx: Context, rows: list[dict[str, Any]], min_group: int) -> list[dict[str, Any]]:
    """Rows in the output shape. Privacy: a row computed from fewer than `min_group` people shows neither
    its value, nor its `n`, nor any extra that is not part of the row's identity."""
    from_people = m.people_based or any("people" in r for r in rows)
    shaped = []
    for r in rows:
        ps = r["period_start"]
        value = r.get("value")
        if value is not None and m.unit == "count" and float(value).is_integer():
            value = int(value)
        n = int(r.get("n") or 0)
        out: dict[str, Any] = {
            "metric": m.name,
            "period": ctx.period,
            "period_start": ps.date().isoformat() if isinstance(ps, datetime) else ps,
            "by": ctx.by,
            "group": r.get("group"),
            "value": value,
            "n": n,
        }
        for k in m.extra:
            v = r.get(k)
            out[k] = v.date().isoformat() if isinstance(v, datetime) else v
        if from_people:
            people = r.get("people")
            has_data = (
                value is not None
                or n > 0
                or any(r.get(k) not in (None, 0) for k in m.extra if k not in IDENTITY_EXTRAS)
            )
            hide = "people" in r and has_data and (people is None or int(people) < min_group)
            out["suppressed"] = bool(hide)
            if hide:
                out["value"] = None
                out["n"] = None
                for k in m.extra:
                    if k not in IDENTITY_EXTRAS:
                        out[k] = None
        shaped.append(out)
    return shaped


def _sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["metric"],
        r["period_start"] or "",
        r["group"] or "",
        *(str(r.get(k, "")) for k in ("cohort", "offset", "step", "state", "key")),
    )


def compute(
    con: Any,
    names: Sequence[str] | None = None,
    query: Query | None = None,
    settings: Any = None,
    *,
    category: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Compute catalog metrics (all of them, or `names`, or one `category`) on the Ibis backend `con`."""
    if settings is None:
        from northstar.config import Settings

        settings = Settings()
    query = query or Query()
    if query.by not in (None, "team", "component", "service"):
        raise MetricsError(f"--by must be team, component or service, not {query.by!r}")
    metrics = _select(names, category, query.by)
    since, until = _window(con, query)
    periods = [p for p in period_starts(since, until, query.period)]
    first = period_floor(since, query.period)
    whole_days = _is_midnight(since) and (query.until is None or _is_midnight(until))
    result = Result()
    for m in metrics:
        if progress:
            progress(m.name)
        if query.unit and m.units and query.unit not in m.units:
            if names:
                raise MetricsError(f"metric {m.name!r} has no --unit {query.unit} (it has: {', '.join(m.units)})")
            continue
        ctx = Context(
            con=con, settings=settings, query=query, window_start=since, window_end=until, whole_days=whole_days
        )
        expr = m.compute(ctx)
        df = con.execute(expr)
        rows = _frame_rows(df)
        rows = [r for r in rows if r["period_start"] is None or first <= r["period_start"] < until]
        if m.gridded:
            rows = _grid_fill(m, ctx, rows, periods)
        min_group = int(getattr(getattr(settings, "privacy", None), "min_group_size", 5))
        result.rows.extend(_shape(m, ctx, rows, min_group))
        for scalar, message in ctx.checks:
            n = con.execute(scalar)
            if n:
                result.warnings.append(f"{m.name}: " + message.format(n=int(n)))
    result.rows.sort(key=_sort_key)
    return result


def rows_by_metric(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group result rows by metric name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["metric"], []).append(r)
    return out
