"""The inputs of an impact estimate, read through the metric catalog: the outcome per team and period, and
when each team was treated (its first activity on a component, or a dated rollout)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from northstar.impact.did import Panel
from northstar.metrics import Context, MetricsError, Query, compute, get
from northstar.metrics.catalog import Metric
from northstar.metrics.context import period_floor

__all__ = [
    "ImpactError",
    "Treatment",
    "first_activity",
    "outcome_metric",
    "outcome_panel",
    "period_index",
    "treatment_for",
    "window_end",
]


class ImpactError(ValueError):
    """A question `northstar impact` cannot answer as asked (unknown metric or component, bad options)."""


@dataclass(frozen=True)
class Treatment:
    """When each team was treated, and how that was decided (for the result's `treatment` line)."""

    dates: dict[str, datetime]
    description: str


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def first_activity(con: Any, component: str, settings: Any) -> dict[str, datetime]:
    """Each team's first activity on `component` (team resolved from `people` as the catalog does)."""
    comps = con.table("components")
    known = int(con.execute(comps.filter(comps.id == component).count()))
    ctx = Context(con=con, settings=settings, query=Query(), window_start=datetime.min, window_end=datetime.max)
    a = ctx.activity()
    a = a.filter((a.component == component) & a.team.notnull())
    firsts = con.execute(a.group_by("team").aggregate(first=a.ts.min()))
    if not known and firsts.empty:
        ids = sorted(str(x) for x in con.execute(comps.select("id"))["id"])
        listed = ", ".join(ids) if ids else "none declared"
        raise ImpactError(
            f"unknown component {component!r}: no component record and no activity on it (components: {listed})"
        )
    return {str(r.team): pd.Timestamp(r.first).to_pydatetime() for r in firsts.itertuples(index=False)}


def treatment_for(
    con: Any,
    settings: Any,
    *,
    component: str | None = None,
    rollout: date | Mapping[str, date] | None = None,
) -> Treatment:
    """Treatment dates from a component's adoption, a rollout, or both.

    - component alone: each team from its first activity on it;
    - rollout `{team: date}`: those teams from those dates, every other team untreated;
    - one rollout date with a component: a team that uses the component is treated from the later of the
      rollout date and its first activity on it (pilot use before the rollout does not count);
    - one rollout date alone: every team from that date (so no team is left as a control).
    """
    if rollout is None and component is None:
        raise ImpactError("give a component (its adoption is the treatment), a rollout, or an initiative")
    if isinstance(rollout, Mapping):
        dates = {str(t): _as_datetime(d) for t, d in rollout.items()}
        return Treatment(dates, f"rollout to {len(dates)} team(s) on their dates")
    if component is None:
        assert rollout is not None
        return Treatment({"*": _as_datetime(rollout)}, f"rollout to every team on {rollout.isoformat()}")
    first = first_activity(con, component, settings)
    if rollout is None:
        return Treatment(first, f"first activity on {component}")
    start = _as_datetime(rollout)
    return Treatment(
        {t: max(ts, start) for t, ts in first.items()},
        f"rollout of {component} on {rollout.isoformat()} (teams that use it, from their first use)",
    )


def period_index(ts: datetime, first_period: datetime, period: str) -> int:
    """How many periods after the period starting at `first_period` the period containing `ts` starts."""
    p = period_floor(ts, period)
    if period == "day":
        return (p - first_period).days
    if period == "week":
        return (p - first_period).days // 7
    months = (p.year - first_period.year) * 12 + p.month - first_period.month
    return months if period == "month" else months // 3


def outcome_metric(outcome: str) -> Metric:
    """The catalog metric `outcome`, if it can be an outcome per team."""
    try:
        m = get(outcome)
    except KeyError as exc:
        raise ImpactError(str(exc.args[0])) from None
    if "team" not in m.dims:
        opts = ", ".join(m.dims) or "nothing"
        raise ImpactError(
            f"outcome {outcome!r} cannot be computed per team (it breaks down by {opts}); "
            "pick a metric `northstar catalog` lists with `team` among its breakdowns"
        )
    return m


def outcome_panel(
    con: Any,
    metric: Metric,
    treatment: Treatment,
    settings: Any,
    *,
    period: str,
    until: datetime | None,
) -> tuple[Panel, list[str]]:
    """The outcome per team and period from the metric catalog (`northstar metrics M --by team`), with each
    team's first treated period; and the catalog's data warnings."""
    try:
        result = compute(con, [metric.name], Query(period=period, by="team", until=until), settings)  # type: ignore[arg-type]
    except MetricsError as exc:
        raise ImpactError(str(exc)) from None
    rows = pd.DataFrame(
        [r for r in result.rows if r["group"] is not None], columns=["group", "period_start", "value", "n"]
    )
    if rows.duplicated(["group", "period_start"]).any():
        raise ImpactError(
            f"outcome {metric.name!r} has several values per team and period (one per "
            f"{', '.join(metric.extra) or 'key'}), not one outcome series; pick a single-valued metric"
        )
    if rows.empty:
        return Panel([], [], np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0)), result.warnings
    periods = sorted(rows["period_start"].unique())
    teams = sorted(str(t) for t in rows["group"].unique())
    y = rows.pivot(index="group", columns="period_start", values="value").reindex(index=teams, columns=periods)
    n = rows.pivot(index="group", columns="period_start", values="n").reindex(index=teams, columns=periods)
    first_period = datetime.fromisoformat(str(periods[0]))
    everyone = treatment.dates.get("*")
    first_treated = np.full(len(teams), np.inf)
    partial = np.zeros(len(teams), dtype=bool)
    for i, team in enumerate(teams):
        at = everyone or treatment.dates.get(team)
        if at is not None and (until is None or at < until):
            first_treated[i] = period_index(at, first_period, period)
            partial[i] = at != period_floor(at, period)
    panel = Panel(
        teams=teams,
        periods=[str(p) for p in periods],
        y=y.to_numpy(dtype=float, na_value=np.nan),
        units=n.to_numpy(dtype=float, na_value=0.0),
        first_treated=first_treated,
        partial=partial,
    )
    return panel, result.warnings


def window_end(by_date: date | None) -> datetime | None:
    """The exclusive end of the data for `--by-date` (the date itself is included)."""
    return None if by_date is None else _as_datetime(by_date) + timedelta(days=1)
