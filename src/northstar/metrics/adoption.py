"""Adoption metrics (DESIGN.md §3, "Adoption"): is the platform used, by whom, and does use stick?"""

from __future__ import annotations

import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context

Q_ACTIVE = "How many teams actually use the platform?"


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
    a = ctx.in_window(ctx.activity(), "ts")
    a = a.filter(a.team.notnull())
    t = a.mutate(period_start=ctx.bucket(a.ts), group=ctx.group(a))
    g = t.group_by(["period_start", "group"]).aggregate(value=t.team.nunique())
    return g.mutate(value=g.value.cast("float64"), n=g.value.cast("int64"))


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
    a = ctx.in_window(ctx.activity(), "ts")
    t = a.mutate(period_start=ctx.bucket(a.ts), group=ctx.group(a))
    g = t.group_by(["period_start", "group"]).aggregate(value=t.actor.nunique())
    return g.mutate(value=g.value.cast("float64"), n=g.value.cast("int64"), people=g.value.cast("int64"))
