"""What a metric's `compute` sees: the tables, the query (period, breakdown, unit, window) and the settings.

Everything here builds engine-free Ibis expressions; nothing executes except `data_extent`, which the
runner calls once to find the default window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar, cast

import ibis
import ibis.expr.types as ir

__all__ = ["PERIODS", "Context", "Query", "once", "period_floor", "period_starts", "shift_period"]

T = TypeVar("T")

Period = Literal["day", "week", "month", "quarter"]
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter")
_TRUNC = {"day": "D", "week": "W", "month": "M", "quarter": "Q"}


@dataclass(frozen=True)
class Query:
    """The options of `northstar metrics`: period grid, breakdown, unit of analysis and [since, until)."""

    period: Period = "week"
    by: str | None = None
    unit: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def period_floor(ts: datetime, period: str) -> datetime:
    """The start of the UTC calendar period containing `ts` (ISO weeks start on Monday)."""
    d = datetime(ts.year, ts.month, ts.day)
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    if period == "quarter":
        return d.replace(day=1, month=3 * ((d.month - 1) // 3) + 1)
    raise ValueError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def shift_period(start: datetime, period: str, k: int = 1) -> datetime:
    """The start of the period `k` periods after the one starting at `start`."""
    if period == "day":
        return start + timedelta(days=k)
    if period == "week":
        return start + timedelta(days=7 * k)
    months = k if period == "month" else 3 * k
    idx = start.year * 12 + (start.month - 1) + months
    return datetime(idx // 12, idx % 12 + 1, 1)


def period_starts(start: datetime, end: datetime, period: str) -> list[datetime]:
    """Starts of every period overlapping the half-open window [start, end)."""
    out = []
    p = period_floor(start, period)
    while p < end:
        out.append(p)
        p = shift_period(p, period)
    return out


@dataclass
class Context:
    """The query, settings and tables a metric is computed from."""

    con: Any
    settings: Any
    query: Query
    window_start: datetime
    window_end: datetime
    checks: list[tuple[ir.Scalar, str]] = field(default_factory=list)
    # True when [window_start, window_end) holds whole UTC days of data: since is a midnight and until is a
    # midnight or lies after the last event (the default). Then daily rollups give exact answers.
    whole_days: bool = False
    # table expressions by name, shared by the metrics of one `compute()` call (looking a table up asks the
    # engine for its schema: ~1 ms each on DuckDB, a few per metric)
    tables: dict[str, ir.Table] = field(default_factory=dict)
    # building blocks made once per `compute()` call (`once`), shared by its metrics like `tables`
    memo: dict[Any, tuple[Any, list[tuple[ir.Scalar, str]]]] = field(default_factory=dict)

    # -- tables ----------------------------------------------------------------------------------
    def table(self, kind: str) -> ir.Table:
        """A canonical or derived table by name."""
        t = self.tables.get(kind)
        if t is None:
            t = self.tables[kind] = self.con.table(kind)
        return t

    def activity(self) -> ir.Table:
        """Activity with `team` filled from the actor's team in `people` when the event has none."""
        a = self.table("activity")
        p = self.table("people").select(_pid="id", _pteam="team")
        j = a.left_join(p, a.actor == p._pid)
        return j.select("id", "ts", "actor", "component", "action", team=ibis.coalesce(j.team, j._pteam))

    def resolve_team(self, t: ir.Table) -> ir.Table:
        """`t` (with `actor` and `team`) with `team` filled from the actor's team in `people` when null.
        Filter `t` first: the join then runs on the rows that are left."""
        p = self.table("people").select(_pid="id", _pteam="team")
        j = t.left_join(p, t.actor == p._pid)
        return j.mutate(team=ibis.coalesce(j.team, j._pteam)).drop("_pid", "_pteam")

    def activity_days(self, component: bool | None = None, unit: str = "user") -> ir.Table:
        """Activity per (day, team, actor[, component]) with `events` and `ts` = the first event of the day,
        team resolved as in `activity()`. The `component` column is there when `component` is True, or, by
        default, with `--by component` (without it the rollup has ~3× fewer rows). With `unit="team"` the
        `actor` column is only meaningful for events without a team (read `activity_team_days`, ~10× smaller).

        From the `activity_days` / `activity_person_days` rollups when the window is whole days
        (`whole_days`); otherwise from the raw events, one row per event (`events` = 1, `ts` = its time), so a
        filter of `ts` against the window keeps exactly the days (or events) inside it either way."""
        if component is None:
            component = self.by == "component"
        keys = ["day", "team", "actor", *(["component"] if component else [])]
        if self.whole_days:
            per_person = "activity_days" if component else "activity_person_days"
            d = self.table("activity_team_days" if unit == "team" else per_person)
            d = d.select(*keys, "events", ts=d.first_ts)
        else:
            a = self.table("activity")
            a = a.mutate(day=a.ts.truncate("D"), events=ibis.literal(1).cast("int64"))
            d = a.select(*keys, "events", "ts")
        return self.resolve_team(d)

    def activity_firsts(self) -> ir.Table:
        """The first event (`ts`) of every (team, actor, component, action) over all history, team resolved as
        in `activity()`. Exact for any window: a key's first event before the window's end is its first event
        when `ts < window_end` (`before_end(t, "ts")`), and it has none otherwise."""
        f = self.table("activity_firsts")
        return self.resolve_team(f.select("team", "actor", "component", "action", ts=f.first_ts))

    # -- periods and windows -----------------------------------------------------------------------
    @property
    def period(self) -> str:
        return self.query.period

    def bucket(self, ts: ir.TimestampValue) -> ir.TimestampValue:
        """The start of the period containing `ts`."""
        return ts.truncate(_TRUNC[self.period])

    def period_index(self, ts: ir.TimestampValue) -> ir.IntegerValue:
        """An integer that grows by one from each period to the next (for offsets between periods)."""
        if self.period == "day":
            return ts.truncate("D").epoch_seconds() // 86400
        if self.period == "week":
            # 1970-01-05 was a Monday: shift so weeks are aligned on ISO weeks
            return (ts.truncate("D").epoch_seconds() - 345600) // 604800
        months = ts.year() * 12 + ts.month() - 1
        if self.period == "month":
            return months
        return months // 3

    def in_window(self, t: ir.Table, col: str) -> ir.Table:
        """Rows of `t` whose timestamp `col` falls in the query's [since, until) window."""
        c = t[col]
        return t.filter(c >= ibis.literal(self.window_start), c < ibis.literal(self.window_end))

    def before_end(self, t: ir.Table, col: str) -> ir.Table:
        """Rows of `t` whose timestamp `col` is before the window's end (history counts, the future doesn't)."""
        return t.filter(t[col] < ibis.literal(self.window_end))

    @property
    def now(self) -> datetime:
        """The evaluation instant: `--until`, or the end of the data."""
        return self.window_end

    def period_end_date(self, period_start: ir.TimestampValue) -> ir.DateValue:
        """The last day of the period that starts at `period_start`."""
        if self.period == "day":
            return period_start.date()
        if self.period == "week":
            return (period_start + ibis.interval(days=6)).date()
        months = 1 if self.period == "month" else 3
        return (period_start + ibis.interval(months=months) - ibis.interval(days=1)).date()

    # -- breakdowns ------------------------------------------------------------------------------------
    @property
    def by(self) -> str | None:
        return self.query.by

    def unit(self, default: str = "team") -> str:
        return self.query.unit or default

    def group(self, t: ir.Table) -> ir.StringValue:
        """The `group` column for the query's breakdown (a null string without `--by`)."""
        if self.by is None:
            return ibis.null().cast("string")
        return t[self.by].cast("string")

    # -- data warnings ----------------------------------------------------------------------------
    def check(self, count: ir.Scalar, message: str) -> None:
        """Add a data warning: `message` formatted with `{n}` when the scalar `count` is non-zero."""
        self.checks.append((count, message))


def once(fn: Callable[..., T]) -> Callable[..., T]:
    """A building block `fn(ctx, *args)` (hashable args) made once per `compute()` call: the metrics that use
    it get the same expression (Python builds it once; the runner finds it shared all the same), and the
    data-warning checks its first build added are added to each later caller's context, in the same order."""

    @functools.wraps(fn)
    def wrapper(ctx: Context, *args: Any, **kwargs: Any) -> T:
        key = (fn, args, tuple(sorted(kwargs.items())))
        hit = ctx.memo.get(key)
        if hit is None:
            before = len(ctx.checks)
            made = fn(ctx, *args, **kwargs)
            ctx.memo[key] = (made, ctx.checks[before:])
            return made
        ctx.checks.extend(hit[1])
        return cast(T, hit[0])

    return wrapper


def to_date(value: datetime | date | str) -> datetime:
    """A datetime at midnight for a date, an ISO string or a datetime (used for --since/--until)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(value)
