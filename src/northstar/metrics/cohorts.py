"""Cohort adoption metrics (DESIGN.md §3, "Adoption"): do new units stay, come back, and get to value?

`retention`, `lifecycle` and `funnel` follow units of analysis (teams by default, people with `--unit user`)
from their first-ever activity. Shared choices:

- History counts, the future doesn't: every activity before the window's end is used to find a unit's
  first-ever activity and its previous periods; nothing at or after `--until` is seen.
- With `--by team|component` the unit is the pair (group, unit): a team's first activity *on a component*
  starts its cohort for that component.
- A cohort (retention, funnel) is made of the units whose first-ever activity is inside [--since, --until);
  lifecycle states are decided on whole calendar periods (a first period cut by --since counts whole).
- Offsets between periods come from `ctx.period_index`, so they are right across years.

Reading: retention and lifecycle need only which periods each unit was active in and its first-ever activity,
so they read `adoption.unit_periods` (per period, group and unit, from `ctx.activity_days()`: the daily rollup
on whole-day windows, raw events otherwise; its `ts` is the day's first event, so filtering and bucketing it
is exact). The funnel reads `unit_firsts` (per group and unit, from `ctx.activity_firsts()`, the first event of
every team, actor, component and action): entering and each later step's first-ever event, which decide the
funnel of most units; raw events are read only for the units whose later step first happened before the step
preceding it, only those that can match a later step. Both intermediates are built by one function each, also
for the adoption metrics that read them, so the metrics of one runner call share them (computed once).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from northstar.metrics.adoption import _unit_column, unit_periods
from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once, period_starts

# a non-null stand-in for the null `group` (no --by, or a person without a team) so joins on it match
_NO_GROUP = "__northstar_no_group__"

STATES: tuple[str, ...] = ("new", "returning", "resurrecting", "dormant")
# reserved funnel step names: the default steps, usable in `adoption.funnel_steps` beside plain action names
FIRST_ACTIVITY, ACTIVATION, VALUE = "first_activity", "activation", "value"
DEFAULT_STEPS: tuple[str, ...] = (FIRST_ACTIVITY, ACTIVATION, VALUE)


# -- shared building blocks ---------------------------------------------------------------------------------
def _keyed(ctx: Context, t: ir.Table) -> ir.Table:
    """`t` (with resolved `team` and `actor`) with `unit` (team, or actor for `--unit user`) and a non-null
    `gkey`; rows without a unit dropped."""
    key = t.actor if ctx.unit("team") == "user" else t.team
    t = t.filter(key.notnull())
    return t.mutate(unit=key, gkey=ctx.group(t).fill_null(_NO_GROUP))


def _group(gkey: ir.StringValue) -> ir.StringValue:
    return gkey.nullif(_NO_GROUP)


def _people(ctx: Context, count: ir.IntegerValue) -> dict[str, ir.IntegerValue]:
    """The `people` column (privacy suppression) when units are people; nothing when they are teams."""
    return {"people": count.cast("int64")} if ctx.unit("team") == "user" else {}


def _next_period_start(ctx: Context, ps: ir.TimestampValue) -> ir.TimestampValue:
    step = {
        "day": ibis.interval(days=1),
        "week": ibis.interval(days=7),
        "month": ibis.interval(months=1),
        "quarter": ibis.interval(months=3),
    }[ctx.period]
    return ps + step


def active_periods(ctx: Context, *, first_ts: bool = True) -> ir.Table:
    """One row per (gkey, unit, period) with activity before the window's end: `period_start`, `pidx` and, with
    `first_ts`, the period's first event. From `adoption.unit_periods`, the node the activity metrics share."""
    p = unit_periods(ctx, _unit_column(ctx))
    p = p.select(
        gkey=p.g.fill_null(_NO_GROUP),
        unit=p.u,
        period_start=p.period_start,
        **({"first_ts": p.first_ts} if first_ts else {}),
    )
    return p.mutate(pidx=ctx.period_index(p.period_start))


def _window_periods(ctx: Context) -> list[Any]:
    return period_starts(ctx.window_start, ctx.window_end, ctx.period)


# -- retention ------------------------------------------------------------------------------------------
@metric(
    category="adoption",
    question="Do teams that start using the platform keep using it?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    units=("team", "user"),
    people_based=True,
    gridded=False,
    extra=("cohort", "offset"),
)
def retention(ctx: Context) -> ir.Table:
    """Cohort c = units whose first-ever activity (history before --since counts) falls in period c of the
    window; cell (c, k) = share of cohort c active in period c + k, for every k up to the window's last period
    (0 when nobody came back; k = 0 is 1). Rows: `cohort` (ISO date), `offset` k, n = cohort size."""
    p = active_periods(ctx)
    w = ibis.window(group_by=["gkey", "unit"])
    p = p.mutate(
        cidx=p.pidx.min().over(w),
        cohort_start=p.period_start.min().over(w),
        unit_first_ts=p.first_ts.min().over(w),
    )
    p = p.filter(
        p.unit_first_ts >= ibis.literal(ctx.window_start),
        p.unit_first_ts < ibis.literal(ctx.window_end),
    )
    cells = p.mutate(offset=(p.pidx - p.cidx).cast("int64"))
    cells = cells.group_by(["gkey", "cidx", "offset"]).aggregate(active=cells.unit.nunique())

    cohorts = p.filter(p.pidx == p.cidx)
    cohorts = cohorts.group_by(["gkey", "cidx", "cohort_start"]).aggregate(size=cohorts.unit.nunique())
    periods = _window_periods(ctx)
    last_idx = ctx.period_index(ibis.literal(periods[-1]))
    tri = cohorts.mutate(offset=ibis.range(0, len(periods)).unnest())
    tri = tri.mutate(offset=tri.offset.cast("int64"))
    tri = tri.filter(tri.cidx + tri.offset <= last_idx)

    j = tri.left_join(cells, [tri.gkey == cells.gkey, tri.cidx == cells.cidx, tri.offset == cells.offset])
    active = j.active.fill_null(0)
    return j.select(
        period_start=j.cohort_start,
        group=_group(j.gkey),
        value=active.cast("float64") / j.size.cast("float64"),
        n=j.size.cast("int64"),
        cohort=j.cohort_start.date().cast("string"),
        offset=j.offset,
        **_people(ctx, j.size),
    )


# -- lifecycle ------------------------------------------------------------------------------------------
def _lifecycle_fill(ctx: Context) -> Sequence[dict[str, Any]]:
    return [{"state": s} for s in STATES]


@metric(
    category="adoption",
    question="Is the platform growing: how many teams are new, returning, coming back or going dormant?",
    unit="count",
    direction="higher_is_better",
    kind="input",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team", "component"),
    units=("team", "user"),
    is_count=True,
    people_based=True,
    extra=("state",),
    fill=_lifecycle_fill,
)
def lifecycle(ctx: Context) -> ir.Table:
    """Per period, units by `state`: new (first-ever activity in the period; history before --since counts),
    returning (active in the previous period too), resurrecting (active, not in the previous period, not new)
    and dormant (active in the previous period, not in this one; reported as a negative count)."""
    p = active_periods(ctx, first_ts=False)
    w = ibis.window(group_by=["gkey", "unit"], order_by="pidx")
    p = p.mutate(
        first_idx=p.pidx.min().over(ibis.window(group_by=["gkey", "unit"])),
        prev_idx=p.pidx.lag().over(w),
        next_idx=p.pidx.lead().over(w),
    )
    state = ibis.cases(
        (p.prev_idx == p.pidx - 1, "returning"),
        (p.pidx == p.first_idx, "new"),
        else_="resurrecting",
    )
    active = p.select("gkey", "unit", "period_start", state=state)
    gone = p.filter(p.next_idx.isnull() | (p.next_idx > p.pidx + 1))
    dormant = gone.select(
        "gkey", "unit", period_start=_next_period_start(ctx, gone.period_start), state=ibis.literal("dormant")
    )
    u = ibis.union(active, dormant)
    u = u.mutate(period_start=u.period_start.cast("timestamp"))
    u = u.filter(u.period_start >= ibis.literal(_window_periods(ctx)[0]), u.period_start < ibis.literal(ctx.window_end))
    g = u.group_by(["period_start", "gkey", "state"]).aggregate(count=u.unit.nunique())
    sign = ibis.ifelse(g.state == "dormant", -1.0, 1.0)
    return g.select(
        "period_start",
        "state",
        group=_group(g.gkey),
        value=g["count"].cast("float64") * sign,
        n=g["count"].cast("int64"),
        **_people(ctx, g["count"]),
    )


# -- funnel ---------------------------------------------------------------------------------------------
def funnel_steps(ctx: Context) -> list[str]:
    """The funnel's ordered step names: `adoption.funnel_steps`, or first_activity → activation → value."""
    steps = getattr(ctx.settings.adoption, "funnel_steps", None)
    return list(steps) if steps else list(DEFAULT_STEPS)


def activation_flag(ctx: Context, a: ir.Table) -> ir.Table:
    """`a` with `is_activation`: the action is one of its component's `activation_actions` when the component
    declares some (in the store, else in the config inventory), else one of `adoption.activation_actions`
    when configured, else any action counts (DESIGN.md §2's default). Same rule as `activation_rate`."""
    comps = ctx.table("components").select(_cid="id", _acts="activation_actions")
    j = a.left_join(comps, a.component == comps._cid).drop("_cid")
    inventory = [c for c in getattr(ctx.settings, "components", []) if c.activation_actions]
    if inventory:
        conf = ibis.memtable(
            pa.table(
                {
                    "_conf_id": pa.array([c.id for c in inventory], pa.string()),
                    "_conf_acts": pa.array([list(c.activation_actions) for c in inventory], pa.list_(pa.string())),
                }
            )
        )
        k = j.left_join(conf, j.component == conf._conf_id)
        stored = k._acts.notnull() & (k._acts.length() > 0)
        j = k.mutate(_acts=ibis.ifelse(stored.fill_null(False), k._acts, k._conf_acts)).drop("_conf_id", "_conf_acts")
    declared = (j._acts.notnull() & (j._acts.length() > 0)).fill_null(False)
    configured = list(ctx.settings.adoption.activation_actions)
    fallback: ir.BooleanValue = j.action.isin(configured) if configured else ibis.literal(True)
    flag = ibis.ifelse(declared, j._acts.contains(j.action).fill_null(False), fallback)
    return j.mutate(is_activation=flag).drop("_acts")


def _step_match(ctx: Context, a: ir.Table, step: str) -> ir.BooleanValue:
    """Whether an event of `a` is an occurrence of funnel step `step`."""
    if step == FIRST_ACTIVITY:
        return ibis.literal(True)
    if step == ACTIVATION:
        return a.is_activation
    if step == VALUE:
        return a.action.isin(list(ctx.settings.adoption.value_actions))
    return a.action == step


def _first_steps(ctx: Context) -> list[str]:
    """The steps whose first-ever event `unit_firsts` finds (besides first_activity): activation, value, then the
    funnel's other steps."""
    names = [ACTIVATION, VALUE, *funnel_steps(ctx)]
    return [s for i, s in enumerate(names) if s != FIRST_ACTIVITY and s not in names[:i]]


def first_column(ctx: Context, step: str) -> str:
    """The column of `unit_firsts` that holds the first-ever event of funnel step `step`."""
    return "first_ts" if step == FIRST_ACTIVITY else f"_f{_first_steps(ctx).index(step)}"


@once
def unit_firsts(ctx: Context, unit: str) -> ir.Table:
    """Per (g, u) with activity before the window's end (u = `unit`, `team` or `actor`, never null; g = the
    `--by` group, null without --by or when unknown): the first-ever activity `first_ts` and the first-ever
    event of every step of `_first_steps` (columns by `first_column`; null when none), from
    `ctx.activity_firsts()` (the step predicates depend on the component and action only).

    Shared by the funnel, `activation_rate` and `time_to_value`: built by this one function so that the
    metrics of one runner call hold structurally identical nodes, computed once."""
    f = ctx.before_end(ctx.activity_firsts(), "ts")
    f = f.select(g=ctx.group(f), u=f[unit], ts=f.ts, component=f.component, action=f.action)
    f = activation_flag(ctx, f.filter(f.u.notnull()))
    return f.group_by(["g", "u"]).aggregate(
        first_ts=f.ts.min(),
        **{first_column(ctx, st): f.ts.min(where=_step_match(ctx, f, st)) for st in _first_steps(ctx)},
    )


def _raw_step_events(ctx: Context, steps: Sequence[str], first: int) -> ir.Table:
    """Raw events in the window that may match a step k ≥ `first`, with `gkey`, `unit`, `ts` and `_s{k}` (whether
    the event matches step k), team resolved as in `ctx.activity()` after pruning.

    Without an activation step the steps are action names: a filter on the action prunes the scan. With one,
    the events are joined with the (component, action) pairs ever seen (from `activity_firsts`) that match a
    step, flagged there (the predicates depend on the component and action only)."""
    later = steps[first:]
    raw = ctx.in_window(ctx.table("activity"), "ts")
    flags = [f"_s{k}" for k in range(first, len(steps))]
    if ACTIVATION in later:
        pairs = ctx.table("activity_firsts").select("component", "action").distinct()
        pairs = activation_flag(ctx, pairs)
        pairs = pairs.select(
            _c="component", _a="action", **{c: _step_match(ctx, pairs, st) for c, st in zip(flags, later, strict=True)}
        )
        pairs = pairs.filter(functools.reduce(operator.or_, (pairs[c] for c in flags)))
        raw = raw.join(pairs, [raw.component == pairs._c, raw.action == pairs._a])
    else:
        if FIRST_ACTIVITY not in later:
            names = {a for st in later for a in (ctx.settings.adoption.value_actions if st == VALUE else [st])}
            raw = raw.filter(raw.action.isin(sorted(names)))
        raw = raw.mutate(**{c: _step_match(ctx, raw, st) for c, st in zip(flags, later, strict=True)})
    a = _keyed(ctx, ctx.resolve_team(raw.select("ts", "actor", "team", *flags)))
    return a.select("gkey", "unit", "ts", *flags)


def _funnel_fill(ctx: Context) -> Sequence[dict[str, Any]]:
    return [{"step": s, "step_index": i} for i, s in enumerate(funnel_steps(ctx))]


@metric(
    category="adoption",
    question="How many new teams get from first use to activation to value?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=4,
    default_unit_of_analysis="team",
    dims=("team",),
    units=("team", "user"),
    people_based=True,
    extra=("step", "step_index"),
    fill=_funnel_fill,
)
def funnel(ctx: Context) -> ir.Table:
    """Per entry period and `step`: units that reached the step ÷ units that entered (`n`). Steps:
    `adoption.funnel_steps` (action names, or first_activity / activation / value), default first_activity →
    activation → value; entering = the first-ever step-0 event. Step k is reached by an event at or after
    step k−1's (the same event may serve both) and at most `adoption.funnel_window` after entering (boundary
    included); events after --until are not seen."""
    steps = funnel_steps(ctx)
    n = len(steps)
    null_ts = ibis.null().cast("timestamp")
    # per unit, from the first event of every (team, actor, component, action) — the step predicates depend on
    # the component and action only: entering (t0, the first-ever step-0 event) and the first-ever event of
    # every later step (f{k}); history before --since counts, events at or after --until are not seen
    f = unit_firsts(ctx, _unit_column(ctx))
    firsts = f.select(
        gkey=f.g.fill_null(_NO_GROUP),
        unit=f.u,
        t0=f[first_column(ctx, steps[0])],
        **{f"f{k}": f[first_column(ctx, steps[k])] for k in range(1, n)},
    )
    u = ctx.in_window(firsts, "t0")
    window = ibis.interval(seconds=int(ctx.settings.adoption.funnel_window.total_seconds()))
    deadline = u.t0 + window
    # step k is reached at the first step-k event at or after step k-1 was reached and at most the funnel
    # window after entering. When the first-ever step-k event is not before step k-1's, it is that event (or
    # none, past the window); when it is before, a later step-k event may still come: the unit is `stuck`
    # and its raw events decide from there on
    g: list[ir.TimestampValue] = [u.t0]
    stuck: list[ir.BooleanValue] = []
    for k in range(1, n):
        fk = u[f"f{k}"]
        g.append(ibis.ifelse((fk >= g[-1]) & (fk <= deadline), fk, null_ts))
        stuck.append((fk < g[-2]).fill_null(False))
    u = u.select(
        "gkey",
        "unit",
        "t0",
        deadline=deadline,
        stuck=functools.reduce(operator.or_, stuck),
        **{f"g{k}": g[k] for k in range(n)},
    )
    # the first step after entering can't get stuck when entering is the first-ever event of any kind
    first = 2 if steps[0] == FIRST_ACTIVITY else 1
    if first < n:
        # stuck units: the greedy walk over their raw events from step `first` (the step before is exact),
        # from entering to the end of the funnel window
        a = _raw_step_events(ctx, steps, first)
        st = u.filter(u.stuck).select(_g="gkey", _u="unit", **{f"t{first - 1}": u[f"g{first - 1}"]}, _dl="deadline")
        j = a.join(st, [a.gkey == st._g, a.unit == st._u])
        j = j.filter(j.ts >= j[f"t{first - 1}"], j.ts <= j._dl)
        per_unit = ibis.window(group_by=["_g", "_u"])
        for k in range(first, n):
            hit = j[f"_s{k}"] & (j.ts >= j[f"t{k - 1}"])
            j = j.mutate(**{f"t{k}": ibis.ifelse(hit, j.ts, null_ts).min().over(per_unit)})
        walked = j.group_by(["_g", "_u"]).aggregate(**{f"_w{k}": j[f"t{k}"].min() for k in range(first, n)})
        # every entrant counts, also a stuck one without any later-step event
        u = u.left_join(walked, [u.gkey == walked._g, u.unit == walked._u])
        u = u.mutate(**{f"g{k}": ibis.ifelse(u.stuck, u[f"_w{k}"], u[f"g{k}"]) for k in range(first, n)})
    units = u.select("gkey", "unit", "t0", **{f"t{k}": u[f"g{k}"] for k in range(1, n)})
    units = units.mutate(period_start=ctx.bucket(units.t0))
    agg = units.group_by(["period_start", "gkey"]).aggregate(
        entered=units.unit.nunique(), **{f"c{k}": units[f"t{k}"].count() for k in range(n)}
    )
    # one row per step: unnest the step indexes (referencing `agg` once keeps Spark from recomputing it)
    rows = agg.mutate(step_index=ibis.range(0, n).unnest())
    rows = rows.mutate(step_index=rows.step_index.cast("int64"))
    converted = ibis.cases(*((rows.step_index == k, rows[f"c{k}"]) for k in range(n)))
    step = ibis.cases(*((rows.step_index == k, ibis.literal(name)) for k, name in enumerate(steps)))
    return rows.select(
        "period_start",
        "step_index",
        group=_group(rows.gkey),
        value=converted.cast("float64") / rows.entered.cast("float64"),
        n=rows.entered.cast("int64"),
        step=step,
        **_people(ctx, rows.entered),
    )
