"""Satisfaction metrics (DESIGN.md §3): what the platform's users say — NPS, SPACE, survey response rate.

A response's team is its own `team`, else its respondent's team in `people`. Every value is computed from
people, so each row carries `people` and is suppressed under `privacy.min_group_size`.

People behind a value: distinct named respondents, plus, for anonymous responses (no respondent), the largest
number of anonymous responses to any one survey question — each anonymous person answers a question once,
and the same anonymous people may answer several questions, so this never over-counts them.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once
from northstar.metrics.reliability import group_key, ratio
from northstar.records import SCALES

SPACE_DIMENSIONS = ("satisfaction", "performance", "activity", "communication", "efficiency")
SURVEY = {
    "category": "satisfaction",
    # a survey of the platform's users is meaningful whatever the platform's height
    "layer": 0,
    "default_unit_of_analysis": "team",
    "dims": ("team",),
    "people_based": True,
}


@once
def _responses(ctx: Context) -> ir.Table:
    """Survey responses in the window with `team` resolved, `period_start` and `group`."""
    r = ctx.in_window(ctx.table("survey_responses"), "ts")
    p = ctx.table("people").select(_pid="id", _pteam="team")
    j = r.left_join(p, r.respondent == p._pid)
    j = j.select(
        "ts", "survey", "question", "score", "scale", "respondent", "dimension", team=ibis.coalesce(j.team, j._pteam)
    )
    return j.mutate(period_start=ctx.bucket(j.ts), group=ctx.group(j))


def _with_anonymous(r: ir.Table, keys: list[str]) -> ir.Table:
    """Add `_anon`: on an anonymous response, the number of anonymous responses to its question within `keys`."""
    anon = r.respondent.isnull()
    w = ibis.window(group_by=[*(r[k] for k in keys), r.survey, r.question, anon])
    return r.mutate(_anon=ibis.ifelse(anon, r.survey.count().over(w), ibis.null().cast("int64")))


def _people(r: ir.Table) -> ir.IntegerValue:
    """The people behind an aggregate of `_with_anonymous` rows (see the module docstring)."""
    return (r.respondent.nunique() + ibis.coalesce(r._anon.max(), 0)).cast("int64")


@metric(
    question="Would our users recommend the platform to a colleague?",
    unit="score",
    direction="higher_is_better",
    kind="output",
    influence="full",
    **SURVEY,
)
def nps(ctx: Context) -> ir.Table:
    """Net Promoter Score of the period's `nps`-scale responses: 100 × (promoters scoring 9–10 − detractors scoring 0–6)
    ÷ responses, in −100…100; n = responses."""
    r = _responses(ctx)
    r = _with_anonymous(r.filter(r.scale == "nps"), ["period_start", "group"])
    promoter = ibis.ifelse(r.score >= 9, 1, 0)
    detractor = ibis.ifelse(r.score <= 6, 1, 0)
    g = r.group_by(["period_start", "group"]).aggregate(
        pro=promoter.sum(), det=detractor.sum(), n=r.count(), people=_people(r)
    )
    return g.select(
        "period_start",
        "group",
        value=100.0 * ratio(g.pro - g.det, g.n),
        n=g.n.cast("int64"),
        people=g.people,
    )


@metric(
    question="How do developers rate their experience along the SPACE dimensions?",
    unit="score",
    direction="higher_is_better",
    kind="output",
    influence="partial",
    extra=("dimension",),
    fill=lambda ctx: [{"dimension": d} for d in SPACE_DIMENSIONS],
    **SURVEY,
)
def space_score(ctx: Context) -> ir.Table:
    """Per SPACE dimension, the mean of the period's responses normalised to 0–1 as (score − min) ÷ (max − min) of their
    scale (likert5 1–5, likert7 1–7, nps 0–10); responses without a dimension are left out; n = responses."""
    r = _responses(ctx)
    r = _with_anonymous(r.filter(r.dimension.notnull()), ["period_start", "group", "dimension"])
    lo = ibis.cases(*((r.scale == s, float(b[0])) for s, b in SCALES.items()))
    hi = ibis.cases(*((r.scale == s, float(b[1])) for s, b in SCALES.items()))
    r = r.mutate(norm=ratio(r.score - lo, hi - lo))
    g = r.group_by(["period_start", "group", "dimension"]).aggregate(
        value=r.norm.mean(), n=r.count(), people=_people(r)
    )
    return g.select(
        "period_start", "group", "dimension", value=g.value.cast("float64"), n=g.n.cast("int64"), people=g.people
    )


@metric(
    question="Do our users bother to answer our surveys?",
    unit="ratio",
    direction="higher_is_better",
    kind="input",
    influence="partial",
    **SURVEY,
)
def survey_response_rate(ctx: Context) -> ir.Table:
    """Distinct respondents in the period ÷ people in the roster (`people` who joined on or before the period's last
    day, or have no joined_at); only periods with at least one response have a value (0 for a team that did not answer
    while others did); n = people in the roster."""
    r = _with_anonymous(_responses(ctx), ["period_start", "group"])
    resp = r.group_by(["period_start", "group"]).aggregate(people=_people(r))
    periods = r.select("period_start").distinct()
    people = ctx.table("people")
    roster = periods.cross_join(people)
    roster = roster.filter(roster.joined_at.isnull() | (roster.joined_at <= ctx.period_end_date(roster.period_start)))
    roster = roster.mutate(group=ctx.group(roster))
    den = roster.group_by(["period_start", "group"]).aggregate(roster=roster.count())
    den = den.mutate(_k=group_key(den.group))
    resp = resp.select(_p="period_start", _k2=group_key(resp.group), _people="people")
    j = den.left_join(resp, [den.period_start == resp._p, den._k == resp._k2])
    people_n = ibis.coalesce(j._people, 0).cast("int64")
    return j.select(
        "period_start",
        "group",
        value=ratio(people_n, j.roster),
        n=j.roster.cast("int64"),
        people=people_n,
    )
