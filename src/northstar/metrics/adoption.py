"""Adoption metrics (DESIGN.md §3, "Adoption"): is the platform used, by whom, and does use stick?

Conventions shared by every metric here:

- The unit of analysis is the team (activity's team, or the actor's team from `people`) or, with `--unit user`,
  the actor. Events whose unit (or `--by` group) is unknown are left out.
- "First-ever" activity looks at all history before the window's end (also before `--since`), never after it.
- With `--by`, a unit is followed within its group: by component, "first-ever activity" is the first
  activity on that component, and churn means leaving that component.
- User-unit values carry `people` (the distinct people behind the value) so the runner can suppress small groups.
- Activity is read through `unit_periods` (per period, group and unit) and `cohorts.unit_firsts` (per group
  and unit), each built by one function for every metric that needs it (also the cohort metrics), so that the
  runner computes each once per call; the metrics derive their values from them with small aggregates.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once, period_floor, period_starts, shift_period

UNITS = ("team", "user")
# the group key used in joins when there is no --by (a constant, so that joins never compare nulls)
_ALL = "*"


# -- building blocks ---------------------------------------------------------------------------------------
def _unit_column(ctx: Context, default: str = "team") -> str:
    """The activity column that identifies a unit of analysis: `team`, or `actor` for `--unit user`."""
    return "actor" if ctx.unit(default) == "user" else "team"


def _is_user(ctx: Context, default: str = "team") -> bool:
    return ctx.unit(default) == "user"


@once
def unit_periods(ctx: Context, unit: str, *, component: bool = False) -> ir.Table:
    """Activity before the window's end per (period_start, g, u[, component]): `first_ts` (the first event of
    the period, history before --since included) and `days` (distinct UTC days with activity inside the window:
    0 for a period seen only before --since). `u` = unit id (`team`, or `actor`), never null; `g` = the `--by`
    group, null without --by or when unknown. The `component` column (and key) is there when `component` is
    True or with `--by component`.

    The shared intermediate of the activity metrics here and in `cohorts`: one history-wide aggregate of the
    daily rollup that every one of them filters and aggregates further, built by this one function so that the
    metrics of one runner call hold structurally identical nodes, computed once."""
    component = component or ctx.by == "component"
    a = ctx.before_end(ctx.activity_days(component, unit="team" if unit == "team" else "user"), "ts")
    extra = {"component": a.component} if component else {}
    inside = a.ts >= ibis.literal(ctx.window_start)
    t = a.select(
        period_start=ctx.bucket(a.ts), g=ctx.group(a), u=a[unit], **extra, ts=a.ts, **_day_marks(ctx, a.day, inside)
    )
    t = t.filter(t.u.notnull())
    return t.group_by(["period_start", "g", "u", *extra]).aggregate(first_ts=t.ts.min(), days=_distinct_days(ctx, t))


# Distinct days inside the window per period, group and unit. For day and week periods: each row marked with its
# day of the period (-1 when outside the window) and the days counted as one "any row on day k" per day of
# the period (on DuckDB 0.18 CPU-s instead of 0.38 for the 10M scorecard's per-person part: a distinct count
# keeps a set per group). For months (31 days) and quarters (92) the flags cost as much or more than a distinct
# count, which they keep. The same numbers either way, on every engine.
def _day_marks(ctx: Context, day: ir.TimestampValue, inside: ir.BooleanValue) -> dict[str, ir.Value]:
    if ctx.period == "week":
        return {"_wd": ibis.ifelse(inside, day.day_of_week.index(), -1)}
    if ctx.period == "day":
        return {"_wd": ibis.ifelse(inside, 0, -1)}
    return {"_day": day, "_in": inside}


def _distinct_days(ctx: Context, t: ir.Table) -> ir.IntegerValue:
    if ctx.period in ("day", "week"):
        flags = [(t._wd == k).any().cast("int64") for k in range(7 if ctx.period == "week" else 1)]
        return functools.reduce(operator.add, flags)
    return t._day.nunique(where=t._in)


def _keyed(ctx: Context, t: ir.Table) -> ir.Table:
    """`t` (with a nullable group `g`) with this module's key: `g` non-null (`*` without --by), rows whose
    `--by` group is unknown left out."""
    return t.filter(t.g.notnull()) if ctx.by else t.mutate(g=ibis.literal(_ALL))


def _periods(ctx: Context, unit: str, *, component: bool = False, history: bool = False) -> ir.Table:
    """`unit_periods` keyed as here: the (period_start, g, u[, component]) with activity in the window, or
    (history=True) with activity anywhere before the window's end."""
    p = _keyed(ctx, unit_periods(ctx, unit, component=component))
    return p if history else p.filter(p.days > 0)


def _group(ctx: Context, t: ir.Table) -> ir.StringValue:
    """The output `group` column from the internal key `g` (null without --by)."""
    return t.g if ctx.by else ibis.null().cast("string")


def _ceil_day(ts: datetime) -> datetime:
    day = datetime(ts.year, ts.month, ts.day)
    return day if ts == day else day + timedelta(days=1)


def _grid(ctx: Context) -> ir.Table:
    """One row per period of the window: `period_start`, `next_start` (exclusive end), `prev_start` and `days`
    (calendar days of the period that overlap [since, until): a cut first or last period has fewer)."""
    since, until = ctx.window_start, ctx.window_end
    lo_day, hi_day = period_floor(since, "day"), _ceil_day(until)
    starts = period_starts(since, until, ctx.period)
    nexts = [shift_period(p, ctx.period) for p in starts]
    prevs = [shift_period(p, ctx.period, -1) for p in starts]
    days = [(min(n, hi_day) - max(p, lo_day)).days for p, n in zip(starts, nexts, strict=True)]
    ts = pa.timestamp("us")
    return ibis.memtable(
        pa.table(
            {
                "period_start": pa.array(starts, ts),
                "next_start": pa.array(nexts, ts),
                "prev_start": pa.array(prevs, ts),
                "days": pa.array(days, pa.int64()),
            }
        )
    )


def _firsts(ctx: Context, unit: str, *, component: bool = False) -> ir.Table:
    """First-ever activity `first_ts` of every (u, g) before the window's end."""
    h = _periods(ctx, unit, component=component, history=True)
    return h.group_by(["u", "g"]).aggregate(first_ts=h.first_ts.min())


def _cohort(ctx: Context, unit: str) -> ir.Table:
    """Units whose first-ever activity `first_ts` (in their group) falls in the window, with its `period_start`,
    and the first-ever event of the activation and value steps (`activation_ts`, `value_ts`; null when none
    before the window's end). From `cohorts.unit_firsts`, shared with the funnel."""
    # imported here: importing cohorts at the top would register its metrics before these and reorder the catalog
    from northstar.metrics.cohorts import ACTIVATION, VALUE, first_column, unit_firsts

    f = _keyed(ctx, unit_firsts(ctx, unit))
    f = ctx.in_window(f, "first_ts")
    return f.select(
        "g",
        "u",
        "first_ts",
        period_start=ctx.bucket(f.first_ts),
        activation_ts=f[first_column(ctx, ACTIVATION)],
        value_ts=f[first_column(ctx, VALUE)],
    )


def _interval(td: timedelta) -> ir.IntervalScalar:
    whole = td.days * 86400 + td.seconds
    iv = ibis.interval(seconds=whole)
    return iv + ibis.interval(microseconds=td.microseconds) if td.microseconds else iv


def _finish(ctx: Context, t: ir.Table, value: ir.Value, n: ir.Value, *extra: str, people: bool = False) -> ir.Table:
    """The metric's output columns: period_start, group, value (float64), n (int64), extras, people."""
    cols: dict[str, ir.Value] = {
        "period_start": t.period_start,
        "group": _group(ctx, t),
        "value": value.cast("float64"),
        "n": n.cast("int64"),
    }
    for e in extra:
        cols[e] = t[e]
    if people:
        cols["people"] = n.cast("int64")
    return t.select(**cols)


# -- activity counts ---------------------------------------------------------------------------------------
@metric(
    category="adoption",
    question="How many teams use the platform in each period?",
    unit="count",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    is_count=True,
)
def active_teams(ctx: Context) -> ir.Table:
    """Distinct teams with at least one activity in the period."""
    a = _periods(ctx, "team")
    g = a.group_by(["period_start", "g"]).aggregate(k=a.count())
    return _finish(ctx, g, g.k, g.k)


@metric(
    category="adoption",
    question="How many people use the platform in each period?",
    unit="count",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="user",
    dims=("team", "component"),
    is_count=True,
    people_based=True,
)
def active_users(ctx: Context) -> ir.Table:
    """Distinct actors with at least one activity in the period."""
    a = _periods(ctx, "actor")
    g = a.group_by(["period_start", "g"]).aggregate(k=a.count())
    return _finish(ctx, g, g.k, g.k, people=True)


# -- reach -------------------------------------------------------------------------------------------------
def _eligible(ctx: Context, grid: ir.Table) -> ir.Table:
    """(period_start, team) for every team eligible at the period's end.

    Roster teams with no `eligible_from` or one on or before the period's last day; when the roster (`teams`)
    is empty, every team with activity before the period's end (history before --since counts).
    """
    teams = ctx.table("teams")
    roster = grid.cross_join(teams.select(team=teams.id, eligible_from=teams.eligible_from))
    roster = roster.filter(roster.eligible_from.isnull() | (roster.eligible_from < roster.next_start.date()))
    seen = _firsts(ctx, "team", component=True).group_by("u").aggregate(first_ts=lambda t: t.first_ts.min())
    size = teams.aggregate(roster_size=teams.count())
    fallback = grid.cross_join(seen).cross_join(size)
    fallback = fallback.filter(fallback.roster_size == 0, fallback.first_ts < fallback.next_start)
    return ibis.union(
        roster.select("period_start", "team"),
        fallback.select("period_start", team=fallback.u),
        distinct=True,
    )


@metric(
    category="adoption",
    question="What share of the teams that should use the platform actually use it?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("component",),
    units=("team",),
)
def adoption_rate(ctx: Context) -> ir.Table:
    """Eligible teams active in the period ÷ eligible teams at the period's end (`n`). Eligible: in the `teams`
    roster with no eligible_from or one on or before the period's last day; with an empty roster, every team
    with activity up to the period's end. By component: eligible teams active on that component ÷ eligible
    teams, for every component used in the window (0 when unused). A period with eligible teams but no
    activity is 0; null only without eligible teams. Team unit only."""
    grid = _grid(ctx)
    eligible = _eligible(ctx, grid)
    sizes = eligible.group_by("period_start").aggregate(eligible=eligible.team.nunique())
    # per component, as feature_adoption_rate reads it (one shared node); the team counts below are distinct
    a = _periods(ctx, "team", component=True)
    act = a.join(eligible, [a.period_start == eligible.period_start, a.u == eligible.team])
    act = act.group_by(["period_start", "g"]).aggregate(active=act.u.nunique())
    # every period with eligible teams is reported (0 without activity), for every component used in the window
    cells = sizes.cross_join(a.select("g").distinct()) if ctx.by else sizes.mutate(g=ibis.literal(_ALL))
    j = cells.left_join(act, [cells.period_start == act.period_start, cells.g == act.g])
    j = j.select(period_start=cells.period_start, g=cells.g, eligible=cells.eligible, active=act.active.fill_null(0))
    return _finish(ctx, j, j.active / j.eligible, j.eligible)


@metric(
    category="adoption",
    question="Which parts of the platform do its users actually use?",
    unit="ratio",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="team",
    dims=("component",),
    units=UNITS,
    extra=("key",),
)
def feature_adoption_rate(ctx: Context) -> ir.Table:
    """Per component: units (teams, or users) active on the component in the period ÷ units active on the
    platform in the period (`n`); 0 for a component used in the window but not in this period. Always per
    component: with `--by component` the component is the `group`; without --by it is in `key`."""
    user = _is_user(ctx)
    a = _periods(ctx, _unit_column(ctx), component=True)
    platform = a.group_by("period_start").aggregate(active=a.u.nunique())
    on = a.group_by(["period_start", "component"]).aggregate(users_on=a.u.nunique())
    cells = platform.cross_join(a.select("component").distinct())
    j = cells.left_join(on, [cells.period_start == on.period_start, cells.component == on.component])
    j = j.select(
        period_start=cells.period_start,
        g=cells.component,
        key=ibis.null().cast("string") if ctx.by else cells.component,
        active=cells.active,
        users_on=on.users_on.fill_null(0),
    )
    return _finish(ctx, j, j.users_on / j.active, j.active, "key", people=user)


# -- first use ---------------------------------------------------------------------------------------------
@metric(
    category="adoption",
    question="Do new users get to the moment the platform becomes useful to them?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    units=UNITS,
)
def activation_rate(ctx: Context) -> ir.Table:
    """Cohort = units whose first-ever activity (history before --since counts) falls in the period (`n`);
    value = share that performed an activation action at most `adoption.activation_window` after it (the
    boundary counts; events after --until are not seen). Activation actions: the component's
    `activation_actions`, else `adoption.activation_actions`, else any action (DESIGN.md §2's default, so
    every newcomer is activated). By component: first activity on, and activation action on, that component."""
    user = _is_user(ctx)
    c = _cohort(ctx, _unit_column(ctx))
    window = _interval(ctx.settings.adoption.activation_window)
    # the first activation action is at or after the first-ever activity: activated iff it is in the window
    hit = (c.activation_ts <= c.first_ts + window).fill_null(False)
    r = c.group_by(["period_start", "g"]).aggregate(n=c.count(), activated=ibis.ifelse(hit, 1, 0).sum())
    return _finish(ctx, r, r.activated / r.n, r.n, people=user)


@metric(
    category="adoption",
    question="How long does a new user take to get value from the platform?",
    unit="seconds",
    direction="lower_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team",),
    units=UNITS,
    extra=("share_reached",),
)
def time_to_value(ctx: Context) -> ir.Table:
    """For units whose first-ever activity falls in the period: median seconds from that first activity to
    their first value action (`adoption.value_actions`, default deploy) before --until, over those that
    reached value (`n`); `share_reached` = those ÷ the cohort (null value when nobody reached it; with --unit user,
    share_reached is also null for a cohort smaller than privacy.min_group_size)."""
    user = _is_user(ctx)
    c = _cohort(ctx, _unit_column(ctx))
    secs = (c.value_ts.epoch_seconds() - c.first_ts.epoch_seconds()).cast("float64")
    j = c.select("period_start", "g", secs=secs)
    r = j.group_by(["period_start", "g"]).aggregate(cohort=j.count(), n=j.secs.count(), med=j.secs.median())
    share = (r.n / r.cohort).cast("float64")
    if user:
        # the runner suppresses only non-null values: a cohort too small to show must not show its share either
        small = r.cohort < int(ctx.settings.privacy.min_group_size)
        share = ibis.ifelse(small, ibis.null().cast("float64"), share)
    r = r.mutate(share_reached=share)
    return _finish(ctx, r, r.med, r.n, "share_reached", people=user)


# -- engagement --------------------------------------------------------------------------------------------
@metric(
    category="adoption",
    question="How often do the platform's users come back to it?",
    unit="count",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    units=UNITS,
)
def usage_frequency(ctx: Context) -> ir.Table:
    """Mean number of distinct active days (UTC calendar days) per active unit in the period; `n` = active units."""
    p = _periods(ctx, _unit_column(ctx))
    r = p.group_by(["period_start", "g"]).aggregate(n=p.count(), avg_days=p.days.mean())
    return _finish(ctx, r, r.avg_days, r.n, people=_is_user(ctx))


@metric(
    category="adoption",
    question="Is the platform part of its users' daily work?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="user",
    dims=("team", "component"),
    units=("user", "team"),
)
def stickiness(ctx: Context) -> ir.Table:
    """Mean daily active users over the days of the period (days without activity count as 0) ÷ distinct
    active users in the period (`n`): DAU/MAU for a month. The days are the period's UTC calendar days inside
    [since, until), so a period cut by the window is averaged over its covered days only. Default unit: user."""
    p = _periods(ctx, _unit_column(ctx, "user"))
    r = p.group_by(["period_start", "g"]).aggregate(unit_days=p.days.sum(), n=p.count())
    grid = _grid(ctx)
    j = r.join(grid, r.period_start == grid.period_start)
    value = j.unit_days.cast("float64") / (j.days * j.n)
    return _finish(ctx, j, value, j.n, people=_is_user(ctx, "user"))


@metric(
    category="adoption",
    question="Are we losing the users we had?",
    unit="ratio",
    direction="lower_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    units=UNITS,
)
def churn_rate(ctx: Context) -> ir.Table:
    """Units active in the previous period and not in this one ÷ units active in the previous period (`n`).
    The previous period is always read in full, also when it lies before --since (the first period of the
    window looks back before it); "this period" is the part inside the window. Null when nobody was active
    in the previous period; 1 for a period without activity after one with."""
    unit = _unit_column(ctx)
    grid = _grid(ctx)
    # every period before the window's end, whole (also before --since); "now" only inside the window
    before = _periods(ctx, unit, history=True)
    now = before.filter(before.days > 0)
    now = now.select(ps=now.period_start, g=now.g, u=now.u, stayed=ibis.literal(1))
    prev = grid.join(before, grid.prev_start == before.period_start).select(grid.period_start, before.g, before.u)
    j = prev.left_join(now, [prev.period_start == now.ps, prev.g == now.g, prev.u == now.u])
    j = j.select(prev.period_start, prev.g, stayed=now.stayed.fill_null(0))
    r = j.group_by(["period_start", "g"]).aggregate(n=j.count(), stayed=j.stayed.sum())
    return _finish(ctx, r, (r.n - r.stayed) / r.n, r.n, people=_is_user(ctx))


@metric(
    category="adoption",
    question="Do users care enough about the platform to ask for more of it?",
    unit="count",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="team",
    influence="partial",
    dims=("team", "component"),
    is_count=True,
)
def feature_requests(ctx: Context) -> ir.Table:
    """Count of activity with action `feature_request` in the period (by team: the requester's team)."""
    a = ctx.in_window(ctx.activity(), "ts")
    a = a.filter(a.action == "feature_request")
    if ctx.by:
        a = a.filter(a[ctx.by].notnull())
    t = a.select(period_start=ctx.bucket(a.ts), g=a[ctx.by].cast("string") if ctx.by else ibis.literal(_ALL))
    r = t.group_by(["period_start", "g"]).aggregate(k=t.count())
    return _finish(ctx, r, r.k, r.k)


# -- vanity totals -----------------------------------------------------------------------------------------
def _running_total(ctx: Context, firsts: ir.Table) -> ir.Table:
    """For every period of the window: how many (u, g) had their first appearance before the period's end."""
    grid = _grid(ctx)
    j = grid.cross_join(firsts)
    j = j.filter(j.first_ts < j.next_start)
    return j.group_by(["period_start", "g"]).aggregate(k=j.count())


@metric(
    category="adoption",
    question="How many people have ever used the platform?",
    unit="count",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="user",
    vanity=True,
    influence="partial",
    dims=("team", "component"),
    is_count=True,
    people_based=True,
)
def users_total(ctx: Context) -> ir.Table:
    """Cumulative distinct actors with any activity up to the period's end (from the start of the data).
    A vanity metric: it can only grow."""
    r = _running_total(ctx, _firsts(ctx, "actor"))
    return _finish(ctx, r, r.k, r.k, people=True)


@metric(
    category="adoption",
    question="How many models (services) have we ever put in production?",
    unit="count",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="service",
    vanity=True,
    influence="partial",
    dims=("team",),
    is_count=True,
)
def models_total(ctx: Context) -> ir.Table:
    """Cumulative distinct services with a succeeded production deployment finished up to the period's end
    (from the start of the data). A vanity metric: it can only grow."""
    d = ctx.table("deployments")
    d = ctx.before_end(d.filter(d.environment == "production", d.status == "succeeded"), "finished_at")
    g = d[ctx.by].cast("string") if ctx.by else ibis.literal(_ALL)
    t = d.select(u=d.service, g=g, ts=d.finished_at)
    t = t.filter(t.g.notnull())
    firsts = t.group_by(["u", "g"]).aggregate(first_ts=t.ts.min())
    r = _running_total(ctx, firsts)
    return _finish(ctx, r, r.k, r.k)
