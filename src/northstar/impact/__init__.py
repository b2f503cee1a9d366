"""ROI of platform initiatives (DESIGN.md §4): what an initiative changed, against doing nothing, by a date.

`estimate(con, outcome, component=…)` reads the outcome per team and period from the metric catalog, takes
each team's treatment date (its first activity on the component, or a rollout), and estimates the effect by
staggered difference-in-differences (`northstar.impact.did`), with a cluster-bootstrap interval, a pre-trend
check, the counterfactual series, money and ROI (`northstar.impact.result`), and an honesty verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from northstar.impact.data import ImpactError, Treatment, outcome_metric, outcome_panel, treatment_for, window_end
from northstar.impact.did import MIN_TEAMS, DidEstimate, DidOptions, Interval, Panel, estimate_panel
from northstar.impact.result import ImpactResult, Money, money_for

__all__ = [
    "BASE_PERIODS",
    "MIN_TEAMS",
    "PRE_PERIODS",
    "DidEstimate",
    "DidOptions",
    "ImpactError",
    "ImpactResult",
    "Interval",
    "Money",
    "Panel",
    "Treatment",
    "estimate",
    "estimate_panel",
]

# the base window and the pre-periods the placebo check looks at, per period grid (about 4 weeks / 2 months)
BASE_PERIODS: dict[str, int] = {"day": 28, "week": 4, "month": 1, "quarter": 1}
PRE_PERIODS: dict[str, int] = {"day": 56, "week": 8, "month": 3, "quarter": 2}


def estimate(
    con: Any,
    outcome: str,
    *,
    component: str | None = None,
    rollout: date | Mapping[str, date] | None = None,
    initiative: str | None = None,
    settings: Any = None,
    by_date: date | None = None,
    period: str = "week",
    bootstrap: int = 500,
    seed: int = 0,
    base_periods: int | None = None,
    pre_periods: int | None = None,
) -> ImpactResult:
    """The effect of a component's adoption (or a rollout, or a configured initiative) on `outcome`.

    `con` is an Ibis backend holding the store's tables; `by_date` (inclusive) cuts the data, so the money
    is "by that date". Raises ImpactError for a question that cannot be asked (unknown metric, component or
    initiative); data too thin to answer is not an error but the result's `verdict`.
    """
    if settings is None:
        from northstar.config import Settings

        settings = Settings()
    if period not in BASE_PERIODS:
        raise ImpactError(f"unknown period {period!r}; use one of {', '.join(BASE_PERIODS)}")
    if initiative is not None:
        if component is not None or rollout is not None:
            raise ImpactError("give an initiative, or a component and/or rollout, not both")
        found = [i for i in settings.initiatives if i.name == initiative]
        if not found:
            names = ", ".join(i.name for i in settings.initiatives) or "none in the config"
            raise ImpactError(f"unknown initiative {initiative!r} (initiatives: {names})")
        component, rollout = found[0].component, found[0].rollout
    try:
        options = DidOptions(
            base_periods=base_periods or BASE_PERIODS[period],
            pre_periods=pre_periods or PRE_PERIODS[period],
            bootstrap=bootstrap,
            seed=seed,
        )
    except ValueError as exc:
        raise ImpactError(str(exc)) from None
    metric = outcome_metric(outcome)
    treatment = treatment_for(con, settings, component=component, rollout=rollout)
    panel, warnings = outcome_panel(con, metric, treatment, settings, period=period, until=window_end(by_date))
    did = estimate_panel(panel, options)
    untracked = sorted(set(treatment.dates) - set(panel.teams) - {"*"})
    if untracked:
        warnings.append(
            f"{len(untracked)} treated team(s) have no {metric.name} data and are not in the estimate: "
            + ", ".join(untracked[:10])
            + (" …" if len(untracked) > 10 else "")
        )
    for team, reason in sorted(did.excluded.items()):
        warnings.append(f"{team} is not in the estimate: {reason}")
    return ImpactResult(
        outcome=metric,
        treatment=treatment.description,
        component=component,
        initiative=initiative,
        period=period,
        by_date=by_date,
        did=did,
        money=money_for(did, metric, settings.roi),
        warnings=warnings,
    )
