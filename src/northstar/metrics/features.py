"""Feature-store metrics (DESIGN.md §3): are features shared, fresh and owned?

These are snapshots of the feature inventory, not flows of events. `feature_reuse` and `feature_ownership`
have one row per period, evaluated at the period's end (or `--until` for the latest period): the features
created before that instant (or with no `created_at`) and the usage that started before it (or has no
`since`). Owners are only known as they are now, so ownership is the current owner of the features that
existed then. `feature_freshness` needs the materialisation time as it was, which the store keeps only for
now: it has one row, in the period containing `--until` (the end of the data by default).
"""

from __future__ import annotations

from datetime import timedelta

import ibis
import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, period_floor
from northstar.metrics.reliability import epoch, evaluation_instants, ratio

FEATURES = {
    "category": "feature_store",
    "layer": 3,
    "default_unit_of_analysis": "feature",
}


def _existing(ctx: Context) -> ir.Table:
    """(period_start, period_to, feature row) for every feature that existed at the period's evaluation instant."""
    inst = evaluation_instants(ctx)
    f = inst.cross_join(ctx.table("features"))
    return f.filter(f.created_at.isnull() | (f.created_at < f.period_to))


@metric(
    question="Are features built once and reused by several models?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    **FEATURES,
)
def feature_reuse(ctx: Context) -> ir.Table:
    """Share of the features existing at the period's end (or --until) that have ≥ 2 distinct consumers whose usage
    started by then (or has no `since`); n = features."""
    f = _existing(ctx)
    inst = evaluation_instants(ctx)
    u = inst.cross_join(ctx.table("feature_usage"))
    u = u.filter(u.since.isnull() | (u.since < u.period_to))
    consumers = u.group_by([u.period_start, u.feature]).aggregate(consumers=u.consumer.nunique())
    consumers = consumers.rename(_p="period_start")
    j = f.left_join(consumers, [f.period_start == consumers._p, f.id == consumers.feature])
    reused = ibis.ifelse(ibis.coalesce(j.consumers, 0) >= 2, 1, 0)
    g = j.group_by("period_start").aggregate(reused=reused.sum(), n=j.count())
    return g.select("period_start", group=ibis.null().cast("string"), value=ratio(g.reused, g.n), n=g.n.cast("int64"))


@metric(
    question="Does every feature have someone accountable for it?",
    unit="ratio",
    direction="higher_is_better",
    kind="input",
    **FEATURES,
)
def feature_ownership(ctx: Context) -> ir.Table:
    """Share of the features existing at the period's end (or --until) that have an owner (their current owner); n =
    features."""
    f = _existing(ctx)
    owned = ibis.ifelse(f.owner.notnull(), 1, 0)
    g = f.group_by("period_start").aggregate(owned=owned.sum(), n=f.count())
    return g.select("period_start", group=ibis.null().cast("string"), value=ratio(g.owned, g.n), n=g.n.cast("int64"))


@metric(
    question="How stale are the features models are served?",
    unit="seconds",
    direction="lower_is_better",
    kind="input",
    **FEATURES,
)
def feature_freshness(ctx: Context) -> ir.Table:
    """95th percentile (exact, continuous) over features of now (--until, or the end of the data) −
    last_materialized_at, seconds; one row, in the period containing now; features never materialized, or materialized
    after now, are left out (with a warning); n = features."""
    now = ctx.now
    f = ctx.table("features")
    f = f.filter(f.created_at.isnull() | (f.created_at < ibis.literal(now)))
    ctx.check(
        f.filter(f.last_materialized_at.isnull()).count(),
        "{n} feature(s) have never been materialized and are left out of the freshness percentile",
    )
    ctx.check(
        f.filter(f.last_materialized_at >= ibis.literal(now)).count(),
        "{n} feature(s) were last materialized after the evaluation instant and are left out",
    )
    f = f.filter(f.last_materialized_at < ibis.literal(now))
    age = (epoch(ibis.literal(now)) - epoch(f.last_materialized_at)).cast("float64")
    period_start = period_floor(now - timedelta(microseconds=1), ctx.period)
    f = f.mutate(period_start=ibis.literal(period_start), age=age)
    g = f.group_by("period_start").aggregate(value=f.age.quantile(0.95), n=f.count())
    return g.select(
        "period_start", group=ibis.null().cast("string"), value=g.value.cast("float64"), n=g.n.cast("int64")
    )
