"""Delivery metrics (DESIGN.md §3, "Delivery"): DORA for models — how fast and how safely changes ship.

Shared conventions of this module:

- "production" = `environment = production`; a deployment belongs to the period of its `finished_at`.
- Durations are seconds at millisecond precision (both engines agree to the millisecond; Spark's epoch
  seconds drop sub-second digits, so the milliseconds are added back explicitly).
- `--by team` uses the record's own `team`; where the team is derived from a related record, the metric's
  definition says so. Records without a team fall in the null group (never dropped).
- The DORA bands of every key come from the single table `BANDS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once, period_starts, shift_period

__all__ = ["BANDS", "BAND_NAMES", "DORA_KEYS", "band_for", "incident_links", "production"]

HOUR = 3600.0
DAY = 24 * HOUR
WEEK = 7 * DAY

Rule = Literal["below", "at_most", "at_least"]

# DORA 2023 performance bands: (rule, (elite, high, medium) thresholds); anything else is "low".
# deployment_frequency is in deploy-days per week; "at least once per month" is 7/31 per week, so that one
# deploy-day in any calendar month (even a 31-day one) is medium.
BANDS: dict[str, tuple[Rule, tuple[float, float, float]]] = {
    "lead_time": ("below", (DAY, WEEK, 30 * DAY)),
    "deployment_frequency": ("at_least", (5.0, 1.0, 7 / 31)),
    "change_failure_rate": ("at_most", (0.05, 0.10, 0.15)),
    "recovery_time": ("below", (HOUR, DAY, WEEK)),
}
BAND_NAMES: tuple[str, str, str, str] = ("elite", "high", "medium", "low")
DORA_KEYS: tuple[str, ...] = tuple(BANDS)


def _meets(rule: Rule, value: ir.NumericValue, threshold: float) -> ir.BooleanValue:
    if rule == "below":
        return value < threshold
    if rule == "at_most":
        return value <= threshold
    return value >= threshold


def band(key: str, value: ir.NumericValue) -> ir.StringValue:
    """The DORA band of `value` for the key `key` (null when the value is null)."""
    rule, limits = BANDS[key]
    cases = [(_meets(rule, value, t), name) for t, name in zip(limits, BAND_NAMES, strict=False)]
    banded = ibis.cases(*cases, else_=BAND_NAMES[-1])
    return ibis.ifelse(value.isnull(), ibis.null().cast("string"), banded)


def band_for(key: str, value: float | None) -> str | None:
    """The same banding in Python (for tests and reports)."""
    if value is None or math.isnan(value):
        return None
    rule, limits = BANDS[key]
    for t, name in zip(limits, BAND_NAMES, strict=False):
        ok = value < t if rule == "below" else value <= t if rule == "at_most" else value >= t
        if ok:
            return name
    return BAND_NAMES[-1]


def _one_line(fn: Callable[[Context], ir.Table]) -> Callable[[Context], ir.Table]:
    """Fold the docstring (the catalog definition) into one line, so it reads the same in docs and JSON."""
    fn.__doc__ = " ".join((fn.__doc__ or "").split())
    return fn


# -- building blocks --------------------------------------------------------------------------------------


@once
def production(ctx: Context) -> ir.Table:
    """Production deployments."""
    d = ctx.table("deployments")
    return d.filter(d.environment == "production")


@once
def _succeeded(ctx: Context) -> ir.Table:
    d = production(ctx)
    return d.filter(d.status == "succeeded")


def _seconds(end: ir.TimestampValue, start: ir.TimestampValue) -> ir.FloatingValue:
    """`end − start` in seconds, at millisecond precision, identical on every engine."""
    whole = end.truncate("s").epoch_seconds() - start.truncate("s").epoch_seconds()
    millis = end.millisecond() - start.millisecond()
    return whole.cast("float64") + millis.cast("float64") / 1000.0


def _interval(window: timedelta) -> ir.IntervalScalar:
    ms = round(window.total_seconds() * 1000)
    if ms % 1000 == 0:
        return ibis.interval(seconds=ms // 1000)
    return ibis.interval(milliseconds=ms)


def _median(ctx: Context, t: ir.Table, ts: str, key: str | None = None) -> ir.Table:
    """Median of `t.seconds` by the period of `t[ts]` and the group; `band` of `key` when given."""
    t = t.mutate(period_start=ctx.bucket(t[ts]), group=ctx.group(t))
    g = t.group_by(["period_start", "group"]).aggregate(value=t.seconds.median(), n=t.count())
    g = g.mutate(value=g.value.cast("float64"), n=g.n.cast("int64"))
    return g.mutate(band=band(key, g.value)) if key else g


def _same_group(left: ir.Table, right: ir.Table) -> ir.BooleanValue:
    return left.group.identical_to(right.group)


# -- deployment frequency -----------------------------------------------------------------------------------


def _period_grid(ctx: Context) -> ir.Table:
    """Every period of the window with `days`: its calendar days inside [since, until) (a day counts when any
    part of it is inside), so the current, unfinished period is measured "so far" (a literal table)."""
    starts = period_starts(ctx.window_start, ctx.window_end, ctx.period)
    days = []
    for p in starts:
        lo = max(p, ctx.window_start).replace(hour=0, minute=0, second=0, microsecond=0)
        hi = min(shift_period(p, ctx.period), ctx.window_end)
        days.append(float(math.ceil((hi - lo) / timedelta(days=1))))
    return ibis.memtable(
        {"period_start": starts, "days": days}, schema={"period_start": "timestamp", "days": "float64"}
    )


def _deploy_stats(ctx: Context, extra_groups: ir.Table | None = None) -> ir.Table:
    """Complete grid (every period × group) of succeeded production deployments.

    Columns: `n` (deployments finished in the period), `deploy_days` (distinct days with one), `rate`
    (deploy-days per week: deploy_days × 7 ÷ the period's days inside the window; for day periods, the
    deploy-days of the trailing 7 days ending on that day) and `rate_n` (the deployments behind `rate`).
    """
    d = _succeeded(ctx)
    back = timedelta(days=6) if ctx.period == "day" else timedelta(0)
    d = d.filter(d.finished_at >= ibis.literal(ctx.window_start - back), d.finished_at < ibis.literal(ctx.window_end))
    d = d.mutate(group=ctx.group(d), day=d.finished_at.truncate("D"))
    in_window = d.filter(d.finished_at >= ibis.literal(ctx.window_start))
    t = in_window.mutate(period_start=ctx.bucket(in_window.finished_at))
    counts = t.group_by(["period_start", "group"]).aggregate(n=t.count(), deploy_days=t.day.nunique())

    grid = _period_grid(ctx)
    if ctx.by is None:
        grid = grid.mutate(group=ibis.null().cast("string"))
    else:
        groups = d.select("group")
        if extra_groups is not None:
            groups = groups.union(extra_groups.select("group"))
        grid = grid.cross_join(groups.distinct())

    j = grid.left_join(counts, [grid.period_start == counts.period_start, _same_group(grid, counts)])
    j = j.select(
        grid.period_start,
        grid.group,
        grid.days,
        n=ibis.coalesce(counts.n, 0).cast("int64"),
        deploy_days=ibis.coalesce(counts.deploy_days, 0).cast("int64"),
    )
    if ctx.period != "day":
        return j.mutate(rate=j.deploy_days.cast("float64") * 7.0 / j.days, rate_n=j.n)

    daily = d.group_by(["group", "day"]).aggregate(k=d.count())
    w = j.left_join(
        daily,
        [
            _same_group(j, daily),
            daily.day <= j.period_start,
            daily.day >= j.period_start - ibis.interval(days=6),
        ],
    )
    r = w.group_by(["period_start", "group", "n", "deploy_days"]).aggregate(
        rate=w.day.count().cast("float64"), rate_n=ibis.coalesce(w.k.sum(), 0).cast("int64")
    )
    return r


@metric(
    category="delivery",
    question="How often do we ship to production?",
    unit="count",
    direction="higher_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    dims=("team", "service"),
    is_count=True,
    extra=("deploy_days", "band"),
)
@_one_line
def deployment_frequency(ctx: Context) -> ir.Table:
    """Count of succeeded production deployments finished in the period; `deploy_days` = distinct days with one;
    `band` = DORA band of deploy-days per week (deploy_days × 7 ÷ the period's days inside the query window, so
    an unfinished period is rated so far; for a day period, the deploy-days of the 7 days ending that day).
    Rolled-back and failed deployments do not count."""
    s = _deploy_stats(ctx)
    return s.select(
        "period_start",
        "group",
        value=s.n.cast("float64"),
        n=s.n,
        deploy_days=s.deploy_days,
        band=band("deployment_frequency", s.rate),
    )


# -- lead time, time to deploy, duration, manual steps --------------------------------------------------------


@once
def _lead_times(ctx: Context) -> ir.Table:
    """One row per change whose first succeeded production deployment finished in the window:
    `seconds` (first deployment's finished_at − created_at, negatives kept), change's service, team."""
    d = _succeeded(ctx)
    u = d.select(dep_team=d.team, finished_at=d.finished_at, change_id=d.change_ids.unnest())
    first = u.group_by("change_id").aggregate(first_at=u.finished_at.min())
    f = u.join(first, [u.change_id == first.change_id, u.finished_at == first.first_at])
    f = f.group_by([f.change_id, f.first_at]).aggregate(dep_team=f.dep_team.min())
    f = ctx.in_window(f, "first_at")

    c = ctx.table("changes")
    orphans = f.anti_join(c, f.change_id == c.id)
    ctx.check(
        orphans.count(),
        "{n} change id(s) deployed to production in the window have no change record, so no lead time",
    )
    j = f.join(c, f.change_id == c.id)
    j = j.select(
        service=c.service,
        team=ibis.coalesce(c.team, f.dep_team),
        first_at=f.first_at,
        seconds=_seconds(f.first_at, c.created_at),
    )
    negative = j.filter(j.seconds < 0)
    ctx.check(
        negative.count(),
        "{n} change(s) whose first production deployment finished before the change was created "
        "(negative lead time) are excluded",
    )
    return j.filter(j.seconds >= 0)


@once
def _lead_time_medians(ctx: Context) -> ir.Table:
    return _median(ctx, _lead_times(ctx), "first_at", "lead_time")


@metric(
    category="delivery",
    question="How long does a change take to go from created to running in production?",
    unit="seconds",
    direction="lower_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    influence="partial",
    dims=("team", "service"),
    extra=("band",),
)
@_one_line
def lead_time_for_changes(ctx: Context) -> ir.Table:
    """Median over changes of (finished_at of the first succeeded production deployment whose change_ids
    include the change − change.created_at), in the period of that deployment; negative differences are
    excluded with a warning. Grouped by the change's service and team (the first deployment's team when the
    change has none). `band` = DORA lead-time band."""
    return _lead_time_medians(ctx)


@metric(
    category="delivery",
    question="How long from the model being ready to the model being served?",
    unit="seconds",
    direction="lower_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    dims=("team", "service"),
)
@_one_line
def time_to_deploy(ctx: Context) -> ir.Table:
    """Median of finished_at − model_ready_at over succeeded production deployments that report
    model_ready_at, finished in the period; a model_ready_at after finished_at is excluded with a warning."""
    d = _succeeded(ctx)
    d = ctx.in_window(d.filter(d.model_ready_at.notnull()), "finished_at")
    d = d.mutate(seconds=_seconds(d.finished_at, d.model_ready_at))
    ctx.check(
        d.filter(d.seconds < 0).count(),
        "{n} production deployment(s) with model_ready_at after finished_at are excluded",
    )
    return _median(ctx, d.filter(d.seconds >= 0), "finished_at")


@metric(
    category="delivery",
    question="How long does a production deployment take to run?",
    unit="seconds",
    direction="lower_is_better",
    kind="input",
    layer=3,
    default_unit_of_analysis="service",
    dims=("team", "service"),
)
@_one_line
def deployment_duration(ctx: Context) -> ir.Table:
    """Median of finished_at − started_at over production deployments of every status (succeeded, failed,
    rolled back: a failed attempt takes time too) that report started_at, finished in the period."""
    d = production(ctx)
    d = ctx.in_window(d.filter(d.started_at.notnull()), "finished_at")
    return _median(ctx, d.mutate(seconds=_seconds(d.finished_at, d.started_at)), "finished_at")


@metric(
    category="delivery",
    question="How many manual steps does it take to deploy a model?",
    unit="count",
    direction="lower_is_better",
    kind="input",
    layer=3,
    default_unit_of_analysis="service",
    dims=("team", "service"),
)
@_one_line
def manual_tasks_to_deploy(ctx: Context) -> ir.Table:
    """Mean manual_steps over production deployments of every status that report it, finished in the
    period (null, not 0, when none reports it)."""
    d = production(ctx)
    d = ctx.in_window(d.filter(d.manual_steps.notnull()), "finished_at")
    t = d.mutate(period_start=ctx.bucket(d.finished_at), group=ctx.group(d))
    g = t.group_by(["period_start", "group"]).aggregate(value=t.manual_steps.mean(), n=t.count())
    return g.mutate(value=g.value.cast("float64"), n=g.n.cast("int64"))


# -- incidents: change failure rate and recovery ---------------------------------------------------------------


def incident_links(ctx: Context, incidents: ir.Table) -> ir.Table:
    """`incidents` with `deployment_id`: the deployment each incident is linked to (null when none).

    The link is `caused_by_deployment` when given (to whatever deployment it names); otherwise the latest
    succeeded production deployment of the same service that finished at most
    `delivery.incident_link_window` before the incident opened (both ends inclusive; ties on finished_at go
    to the smallest deployment id). Failed and rolled-back deployments are never linked by time.
    """
    window = ctx.settings.delivery.incident_link_window
    i = incidents
    d = _succeeded(ctx).select(dep_id="id", dep_service="service", dep_at="finished_at")
    cand = i.filter(i.caused_by_deployment.isnull()).select(inc_id="id", inc_service="service", opened="opened_at")
    m = cand.join(
        d,
        [
            cand.inc_service == d.dep_service,
            d.dep_at <= cand.opened,
            d.dep_at >= cand.opened - _interval(window),
        ],
    )
    latest = m.group_by("inc_id").aggregate(last_at=m.dep_at.max())
    pick = m.join(latest, [m.inc_id == latest.inc_id, m.dep_at == latest.last_at])
    pick = pick.group_by(pick.inc_id).aggregate(window_dep=pick.dep_id.min())
    j = i.left_join(pick, i.id == pick.inc_id)
    out = j.select(*i.columns, deployment_id=ibis.coalesce(j.caused_by_deployment, j.window_dep))
    return _fresh(out)


def _fresh(t: ir.Table) -> ir.Table:
    """`t` as a relation of its own: joining a join's projection again would extend (and confuse) ibis' join
    chain. Unlike `Table.view()`, which numbers every view it makes, this builds the same expression every
    time, so that the runner recognises what metrics share (their data-warning checks, dora_band's keys)."""
    return t.filter(ibis.literal(True))


@once
def _cfr(ctx: Context) -> ir.Table:
    d = production(ctx)
    d = ctx.in_window(d.filter(d.status.isin(["succeeded", "rolled_back"])), "finished_at")
    links = incident_links(ctx, ctx.before_end(ctx.table("incidents"), "opened_at"))
    hit = links.filter(links.deployment_id.notnull()).select(hit_id="deployment_id").distinct()
    j = d.left_join(hit, d.id == hit.hit_id)
    t = j.mutate(
        failed=((j.status == "rolled_back") | j.hit_id.notnull()).cast("int64"),
        period_start=ctx.bucket(j.finished_at),
        group=ctx.group(j),
    )
    g = t.group_by(["period_start", "group"]).aggregate(failures=t.failed.sum(), n=t.count())
    value = g.failures.cast("float64") / g.n.cast("float64")
    return g.select("period_start", "group", value=value, n=g.n.cast("int64"), band=band("change_failure_rate", value))


@metric(
    category="delivery",
    question="What share of our production deployments cause a failure?",
    unit="ratio",
    direction="lower_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    influence="partial",
    dims=("team", "service"),
    extra=("band",),
)
@_one_line
def change_failure_rate(ctx: Context) -> ir.Table:
    """Share of production deployments (succeeded or rolled back) finished in the period that were rolled back
    or are linked to at least one incident opened before the window's end (link: caused_by_deployment, else
    the latest succeeded production deployment of the service within delivery.incident_link_window before the
    incident opened). `band` = DORA change-failure-rate band."""
    return _cfr(ctx)


@metric(
    category="delivery",
    question="How quickly do we restore service after an incident?",
    unit="seconds",
    direction="lower_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    influence="partial",
    dims=("team", "service"),
    extra=("band",),
)
@_one_line
def mttr(ctx: Context) -> ir.Table:
    """Median of resolved_at − opened_at over incidents resolved in the period, by the incident's service and
    team (the linked deployment's team when the incident has none); unresolved incidents are not counted.
    `band` = DORA recovery-time band."""
    i = _resolved_incidents(ctx)
    return _median(ctx, i.mutate(seconds=_seconds(i.resolved_at, i.opened_at)), "resolved_at", "recovery_time")


@once
def _resolved_incidents(ctx: Context) -> ir.Table:
    """Incidents resolved in the window with their link: `deployment_id`, `dep_at` (the linked deployment's
    finished_at, null when unlinked or when the named deployment is not in the store) and `team` (the
    incident's, else the linked deployment's)."""
    i = ctx.table("incidents")
    i = ctx.in_window(i.filter(i.resolved_at.notnull()), "resolved_at")
    links = incident_links(ctx, i)
    d = ctx.table("deployments").select(dep_id="id", dep_team="team", dep_at="finished_at")
    j = links.left_join(d, links.deployment_id == d.dep_id)
    return j.select(
        "service",
        "opened_at",
        "resolved_at",
        "deployment_id",
        "dep_at",
        team=ibis.coalesce(j.team, j.dep_team),
    )


@once
def _recovery_times(ctx: Context) -> ir.Table:
    i = _resolved_incidents(ctx)
    linked = i.filter(i.deployment_id.notnull())
    ctx.check(
        linked.filter(linked.dep_at.isnull()).count(),
        "{n} incident(s) resolved in the window name a caused_by_deployment that is not in the store; "
        "they have no recovery time",
    )
    j = linked.filter(linked.dep_at.notnull())
    j = j.mutate(seconds=_seconds(j.resolved_at, j.dep_at))
    ctx.check(
        j.filter(j.seconds < 0).count(),
        "{n} incident(s) resolved before their linked deployment finished are excluded",
    )
    return j.filter(j.seconds >= 0)


@once
def _recovery_medians(ctx: Context) -> ir.Table:
    return _median(ctx, _recovery_times(ctx), "resolved_at", "recovery_time")


@metric(
    category="delivery",
    question="How quickly do we recover from a deployment that caused a failure?",
    unit="seconds",
    direction="lower_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    influence="partial",
    dims=("team", "service"),
    extra=("band",),
)
@_one_line
def failed_deployment_recovery_time(ctx: Context) -> ir.Table:
    """Median of incident resolved_at − linked deployment's finished_at (link as in change_failure_rate), one
    sample per incident, in the period the incident was resolved; by the incident's service and team (the
    deployment's team when the incident has none). `band` = DORA recovery-time band."""
    return _recovery_medians(ctx)


# -- the DORA bands ---------------------------------------------------------------------------------------------


def _key_rows(t: ir.Table, key: str) -> ir.Table:
    return t.select("period_start", "group", "value", "n", "band", key=ibis.literal(key))


def _dora_keys(ctx: Context) -> list[dict[str, str]]:
    return [{"key": k} for k in DORA_KEYS]


@metric(
    category="delivery",
    question="Where do we stand on each DORA key: elite, high, medium or low?",
    unit="score",
    direction="higher_is_better",
    kind="output",
    layer=3,
    default_unit_of_analysis="service",
    influence="partial",
    dims=("team", "service"),
    extra=("key", "band"),
    fill=_dora_keys,
)
@_one_line
def dora_band(ctx: Context) -> ir.Table:
    """DORA 2023 band (elite/high/medium/low) per key and period; value = the key's own value:
    lead_time = lead_time_for_changes (s), deployment_frequency = deploy-days per week (as in
    deployment_frequency's band), change_failure_rate, recovery_time = failed_deployment_recovery_time (s)."""
    lead = _key_rows(_lead_time_medians(ctx), "lead_time")
    cfr = _key_rows(_cfr(ctx), "change_failure_rate")
    rec = _key_rows(_recovery_medians(ctx), "recovery_time")
    others = lead.union(cfr).union(rec)
    s = _deploy_stats(ctx, extra_groups=others)
    freq = s.select(
        "period_start",
        "group",
        value=s.rate,
        n=s.rate_n,
        band=band("deployment_frequency", s.rate),
        key=ibis.literal("deployment_frequency"),
    )
    return others.union(freq)
