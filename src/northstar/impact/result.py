"""An impact estimate as a result: the effect, the honesty verdict, the counterfactual series, and money.

Money (DESIGN.md §4), per bootstrap replicate so that value and ROI get the effect's interval:

    saved per unit = −ATT for a lower-is-better outcome, +ATT for a higher-is-better one (positive = better)
    hours saved    = saved per unit × hours per unit × outcome units of the treated teams after treatment
    value          = hours saved × roi.hourly_cost
    ROI            = (value − roi.platform_cost) ÷ roi.platform_cost

Hours per unit: for an outcome measured in seconds, one hour of it is worth `roi.hours_per_unit[metric]`
engineer-hours (default 1); for any other unit (a manual step, a failed deployment) `roi.hours_per_unit
[metric]` must say how many engineer-hours one unit is worth. The outcome units are the metric's `n`
(changes for lead time, deployments for manual steps), summed over each treated team's periods from its
treatment to the date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from northstar.impact.did import DidEstimate, FloatArray, Interval, interval_of
from northstar.metrics.catalog import Metric

__all__ = ["ESTIMATOR", "ImpactResult", "Money", "money_for"]

ESTIMATOR = (
    "staggered difference-in-differences: group-time ATT(g, t) against not-yet-treated and never-treated "
    "teams, long differences from a base window before adoption, weighted by treated teams; cluster bootstrap "
    "over teams (percentile interval)"
)
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Money:
    """The effect turned into hours, value and ROI by the date (None where a setting is missing: see `notes`)."""

    units: float
    saved_per_unit: Interval
    hours_per_unit: float | None
    hours_saved: Interval | None
    hourly_cost: float | None
    value: Interval | None
    platform_cost: float | None
    roi: Interval | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def iv(x: Interval | None) -> dict[str, float | None] | None:
            return x.to_dict() if x is not None else None

        return {
            "units": self.units,
            "saved_per_unit": self.saved_per_unit.to_dict(),
            "hours_per_unit": self.hours_per_unit,
            "hours_saved": iv(self.hours_saved),
            "hourly_cost": self.hourly_cost,
            "value": iv(self.value),
            "platform_cost": self.platform_cost,
            "roi": iv(self.roi),
            "formula": (
                "value = saved_per_unit × hours_per_unit × units × hourly_cost; "
                "roi = (value − platform_cost) ÷ platform_cost"
            ),
            "notes": list(self.notes),
        }


def money_for(est: DidEstimate, metric: Metric, roi: Any) -> Money:
    """Value saved by the date and ROI, with the bootstrap interval of the effect carried through."""
    level = est.options.level
    sign = -1.0 if metric.direction == "lower_is_better" else 1.0
    saved: FloatArray = sign * est.att_replicates
    notes: list[str] = []
    configured = roi.hours_per_unit.get(metric.name) if roi is not None else None
    hours_per_unit: float | None = None if configured is None else float(configured)
    per_unit = hours_per_unit  # engineer-hours per unit of the metric's value
    if metric.unit == "seconds":
        hours_per_unit = 1.0 if configured is None else float(configured)
        per_unit = hours_per_unit / SECONDS_PER_HOUR
    elif configured is None:
        notes.append(
            f"set roi.hours_per_unit.{metric.name} (engineer-hours one unit of {metric.name} is worth) "
            "to turn the effect into hours and money"
        )
    hours: FloatArray | None = None if per_unit is None else saved * per_unit * est.units_replicates
    hourly = getattr(roi, "hourly_cost", None)
    cost = getattr(roi, "platform_cost", None)
    value: FloatArray | None = None
    if hours is not None:
        if hourly is None:
            notes.append("set roi.hourly_cost to turn hours into money")
        else:
            value = hours * float(hourly)
    roi_reps: FloatArray | None = None
    if value is not None:
        if not cost:
            notes.append("set roi.platform_cost (above 0) to compute the ROI")
        else:
            roi_reps = (value - float(cost)) / float(cost)
    return Money(
        units=est.post_units,
        saved_per_unit=interval_of(saved, level),
        hours_per_unit=hours_per_unit,
        hours_saved=None if hours is None else interval_of(hours, level),
        hourly_cost=None if hourly is None else float(hourly),
        value=None if value is None else interval_of(value, level),
        platform_cost=None if cost is None else float(cost),
        roi=None if roi_reps is None else interval_of(roi_reps, level),
        notes=notes,
    )


@dataclass
class ImpactResult:
    """What `northstar impact` reports; `to_dict()` is its JSON, `counterfactual` the series for a chart."""

    outcome: Metric
    treatment: str
    component: str | None
    initiative: str | None
    period: str
    by_date: date | None
    did: DidEstimate
    money: Money
    warnings: list[str] = field(default_factory=list)

    # -- the headline ------------------------------------------------------------------------------------------
    @property
    def verdict(self) -> str:
        """`ok`, or `insufficient data: …` / `pre-trend detected: …` (then the numbers are not reliable)."""
        return self.did.verdict

    @property
    def reliable(self) -> bool:
        return self.did.reliable

    @property
    def effect(self) -> Interval:
        """The average effect on the treated (ATT), in the outcome's unit, naturally signed."""
        return self.did.att

    @property
    def relative(self) -> Interval:
        """ATT ÷ the treated teams' counterfactual mean after treatment."""
        return self.did.relative

    @property
    def pre_trend_passed(self) -> bool | None:
        """True when the placebo interval covers 0, False when it excludes 0, None when it cannot be run."""
        return self.did.pre_trend_passed

    @property
    def counterfactual(self) -> list[dict[str, Any]]:
        """Per period: the adopting teams' observed mean and what it would have been had nothing been done."""
        return [{"period_start": r["period"], **{k: v for k, v in r.items() if k != "period"}} for r in self.did.series]

    @property
    def window(self) -> dict[str, str | None]:
        periods = [r["period"] for r in self.did.series]
        return {"first_period": periods[0] if periods else None, "last_period": periods[-1] if periods else None}

    def to_dict(self) -> dict[str, Any]:
        d = self.did
        opts = d.options
        return {
            "initiative": self.initiative,
            "component": self.component,
            "treatment": self.treatment,
            "outcome": {
                "metric": self.outcome.name,
                "unit": self.outcome.unit,
                "direction": self.outcome.direction,
                "question": self.outcome.question,
            },
            "period": self.period,
            "by_date": self.by_date.isoformat() if self.by_date else None,
            "window": self.window,
            "verdict": self.verdict,
            "reliable": self.reliable,
            "effect": self.effect.to_dict(),
            "relative_effect": self.relative.to_dict(),
            "counterfactual_mean": d.counterfactual_mean,
            "treated_teams": len(d.treated_teams),
            "control_teams": len(d.control_teams),
            "never_treated_teams": len(d.never_treated_teams),
            "teams": {
                "treated": d.treated_teams,
                "controls": d.control_teams,
                "never_treated": d.never_treated_teams,
                "excluded": d.excluded,
            },
            "pre_trend": {
                "passed": self.pre_trend_passed,
                "placebo_effect": d.placebo.to_dict(),
                "cells": d.placebo_cells,
                "test": (
                    f"average placebo ATT over up to {opts.pre_periods} periods before the base window; "
                    f"fails when its {opts.level:.0%} bootstrap interval excludes 0"
                ),
            },
            "event_study": d.event_study,
            "cohorts": d.cohorts,
            "counterfactual": self.counterfactual,
            "money": self.money.to_dict(),
            "method": {
                "estimator": ESTIMATOR,
                "base_periods": opts.base_periods,
                "pre_periods": opts.pre_periods,
                "bootstrap": opts.bootstrap,
                "seed": opts.seed,
                "level": opts.level,
            },
            "warnings": list(self.warnings),
        }
