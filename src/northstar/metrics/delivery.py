"""Delivery metrics (DESIGN.md §3, "Delivery"): DORA for models — how fast and how safely changes ship."""

from __future__ import annotations

import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context


def production(ctx: Context) -> ir.Table:
    """Production deployments."""
    d = ctx.table("deployments")
    return d.filter(d.environment == "production")


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
    extra=("deploy_days",),
)
def deployment_frequency(ctx: Context) -> ir.Table:
    """Count of succeeded production deployments finished in the period; `deploy_days` = distinct days with one."""
    d = production(ctx)
    d = ctx.in_window(d.filter(d.status == "succeeded"), "finished_at")
    t = d.mutate(period_start=ctx.bucket(d.finished_at), group=ctx.group(d), day=d.finished_at.truncate("D"))
    g = t.group_by(["period_start", "group"]).aggregate(n=t.count(), deploy_days=t.day.nunique())
    return g.mutate(value=g.n.cast("float64"), n=g.n.cast("int64"), deploy_days=g.deploy_days.cast("int64"))
