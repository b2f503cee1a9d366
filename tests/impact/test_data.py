"""Treatment dates and the outcome panel, read from a store through Ibis and the metric catalog."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pytest

from northstar.config import Settings
from northstar.impact import ImpactError, estimate
from northstar.impact.data import first_activity, outcome_metric, outcome_panel, period_index, treatment_for
from tests.impact.conftest import ADOPTERS, ADOPTION_WEEK, NEVER, TEAMS, adoption

SETTINGS = Settings()


def test_first_activity_resolves_teams_from_people(platform: Any) -> None:
    # each adopter's first golden-path event has no team: it is the actor's team from `people`
    assert first_activity(platform, "golden-path", SETTINGS) == {t: adoption(t) for t in ADOPTERS}


def test_unknown_component_is_an_error(platform: Any) -> None:
    with pytest.raises(ImpactError, match=r"unknown component 'golden'.*components: golden-path, mlflow"):
        first_activity(platform, "golden", SETTINGS)


@pytest.mark.parametrize(
    ("ts", "period", "index"),
    [
        (datetime(2026, 1, 5), "week", 0),
        (datetime(2026, 1, 11, 23), "week", 0),
        (datetime(2026, 1, 12), "week", 1),
        (datetime(2025, 12, 31), "week", -1),
        (datetime(2026, 3, 15), "month", 2),
        (datetime(2026, 7, 1), "quarter", 2),
        (datetime(2026, 1, 7), "day", 2),
    ],
)
def test_period_index(ts: datetime, period: str, index: int) -> None:
    first = {"week": datetime(2026, 1, 5), "day": datetime(2026, 1, 5)}.get(period, datetime(2026, 1, 1))
    assert period_index(ts, first, period) == index


def test_rollouts(platform: Any) -> None:
    by_team = treatment_for(platform, SETTINGS, rollout={"n0": date(2026, 2, 2)})
    assert by_team.dates == {"n0": datetime(2026, 2, 2)}
    everyone = treatment_for(platform, SETTINGS, rollout=date(2026, 2, 2))
    assert everyone.dates == {"*": datetime(2026, 2, 2)}
    # one date with a component: from the later of the rollout and the team's first use
    gated = treatment_for(platform, SETTINGS, component="golden-path", rollout=date(2026, 4, 1))
    assert gated.dates["a0"] == datetime(2026, 4, 1) and gated.dates["a5"] == adoption("a5")
    with pytest.raises(ImpactError, match="give a component"):
        treatment_for(platform, SETTINGS)


def test_outcome_panel_is_the_catalog_series_per_team(platform: Any) -> None:
    metric = outcome_metric("manual_tasks_to_deploy")
    treatment = treatment_for(platform, SETTINGS, component="golden-path")
    panel, warnings = outcome_panel(platform, metric, treatment, SETTINGS, period="week", until=None)
    assert warnings == []
    assert list(panel.teams) == sorted(TEAMS) and len(panel.periods) == 30
    assert panel.periods[0] == "2026-01-05"
    assert panel.first_treated.tolist() == [float(ADOPTION_WEEK[t]) for t in ADOPTERS] + [np.inf] * len(NEVER)
    assert panel.units.sum() == 2 * 30 * 12  # deployments: the metric's n
    assert panel.partial is not None and panel.partial.tolist() == [True] * 6 + [False] * 6
    a0 = panel.y[0]
    assert a0[0] == 4 and a0[8] == 5 and a0[10] == 1  # base, the common shock, after adoption


def test_by_date_cuts_the_data_and_late_adopters_are_not_yet_treated(platform: Any) -> None:
    metric = outcome_metric("manual_tasks_to_deploy")
    treatment = treatment_for(platform, SETTINGS, component="golden-path")
    panel, _ = outcome_panel(platform, metric, treatment, SETTINGS, period="week", until=datetime(2026, 4, 14))
    assert panel.periods[-1] == "2026-04-13"
    assert panel.first_treated.tolist()[:6] == [10.0, 12.0, 14.0, np.inf, np.inf, np.inf]


def test_outcomes_must_be_one_series_per_team() -> None:
    with pytest.raises(ImpactError, match="cannot be computed per team"):
        outcome_metric("adoption_rate")
    with pytest.raises(ImpactError, match="unknown metric 'lead_time'"):
        outcome_metric("lead_time")


def test_estimate_on_the_store(platform: Any) -> None:
    result = estimate(platform, "manual_tasks_to_deploy", component="golden-path", bootstrap=100)
    assert result.verdict == "ok" and result.effect.value == pytest.approx(-3.0)
    assert result.effect.low == pytest.approx(-3.0) and result.effect.high == pytest.approx(-3.0)
    d = result.to_dict()
    assert (d["treated_teams"], d["control_teams"], d["never_treated_teams"]) == (6, 11, 6)
    assert d["treatment"] == "first activity on golden-path"
    assert d["pre_trend"]["passed"] is True and d["pre_trend"]["placebo_effect"]["value"] == pytest.approx(0.0)
    # the adoption week (adoption on Monday 08:00, after the week began) is left out: 2 deployments a week after it
    assert d["money"]["units"] == 2 * (19 + 17 + 15 + 13 + 11 + 9)
    assert d["money"]["hours_saved"] is None  # no roi.hours_per_unit for manual steps


def test_estimate_initiatives_from_config(platform: Any) -> None:
    settings = Settings.model_validate(
        {
            "initiatives": [
                {"name": "templates", "component": "golden-path"},
                {"name": "pilot", "rollout": {"a0": "2026-03-16", "a1": "2026-03-30"}},
            ]
        }
    )
    r = estimate(platform, "manual_tasks_to_deploy", initiative="templates", settings=settings, bootstrap=100)
    assert r.component == "golden-path" and r.effect.value == pytest.approx(-3.0)
    pilot = estimate(platform, "manual_tasks_to_deploy", initiative="pilot", settings=settings, bootstrap=100)
    assert pilot.verdict.startswith("insufficient data: 2 treated team(s)")
    with pytest.raises(ImpactError, match=r"unknown initiative 'x' \(initiatives: templates, pilot\)"):
        estimate(platform, "manual_tasks_to_deploy", initiative="x", settings=settings)
    with pytest.raises(ImpactError, match="not both"):
        estimate(platform, "manual_tasks_to_deploy", initiative="pilot", component="golden-path", settings=settings)
