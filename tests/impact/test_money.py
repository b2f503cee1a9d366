"""Money: value saved by the date and ROI, from the effect and the outcome units, with the effect's interval."""

from __future__ import annotations

import numpy as np
import pytest

from northstar.config import RoiSettings
from northstar.impact import DidOptions, estimate_panel
from northstar.impact.result import money_for
from northstar.metrics import get
from tests.impact.simulate import constant, simulate

OPTS = DidOptions(bootstrap=200, seed=9)


def exact(effect: float, units: float = 10.0):  # type: ignore[no-untyped-def]
    """A noise-free panel (every replicate's ATT is exactly `effect`) and its estimate."""
    sim = simulate(3, noise=0.0, effect=constant(effect), units=units)
    return sim, estimate_panel(sim.panel, OPTS)


def post_units(sim) -> float:  # type: ignore[no-untyped-def]
    t = np.arange(sim.panel.y.shape[1])
    post = t[None, :] >= sim.panel.first_treated[:, None]
    return float(sim.panel.units[post].sum())


def test_manual_steps_saved_become_hours_value_and_roi() -> None:
    sim, est = exact(-3.0)
    units = post_units(sim)
    assert est.post_units == units == 10 * 4 * (28 + 24 + 20 + 16 + 12)  # 4 teams per cohort, post periods
    roi = RoiSettings(hourly_cost=120, platform_cost=50_000, hours_per_unit={"manual_tasks_to_deploy": 0.5})
    m = money_for(est, get("manual_tasks_to_deploy"), roi)
    assert m.saved_per_unit.value == pytest.approx(3.0)  # lower is better: −ATT, positive = saved
    assert m.hours_saved is not None and m.value is not None and m.roi is not None
    assert m.hours_saved.value == pytest.approx(3.0 * 0.5 * units)
    assert m.value.value == pytest.approx(3.0 * 0.5 * units * 120)
    assert m.roi.value == pytest.approx((3.0 * 0.5 * units * 120 - 50_000) / 50_000)
    # the interval is the bootstrap's: value_b = 3 × 0.5 × 120 × units_b in every replicate
    lo, hi = np.percentile(est.units_replicates[1:], [2.5, 97.5])
    assert (m.value.low, m.value.high) == pytest.approx((180 * lo, 180 * hi))
    assert (m.roi.low, m.roi.high) == pytest.approx(((180 * lo - 50_000) / 50_000, (180 * hi - 50_000) / 50_000))
    assert m.notes == []
    assert m.to_dict()["formula"].startswith("value = saved_per_unit × hours_per_unit × units × hourly_cost")


def test_time_outcomes_count_hours_of_the_outcome() -> None:
    sim, est = exact(-7200.0)  # two hours faster per unit
    units = post_units(sim)
    m = money_for(est, get("lead_time_for_changes"), RoiSettings(hourly_cost=100))
    assert m.hours_per_unit == 1.0 and m.hours_saved is not None and m.value is not None
    assert m.hours_saved.value == pytest.approx(2.0 * units)
    assert m.value.value == pytest.approx(200.0 * units)
    assert m.roi is None and m.notes == ["set roi.platform_cost (above 0) to compute the ROI"]
    scaled = money_for(est, get("lead_time_for_changes"), RoiSettings(hours_per_unit={"lead_time_for_changes": 0.25}))
    assert scaled.hours_saved is not None and scaled.hours_saved.value == pytest.approx(0.5 * units)
    assert scaled.value is None and scaled.notes == ["set roi.hourly_cost to turn hours into money"]


def test_higher_is_better_outcomes_save_when_they_rise() -> None:
    _, est = exact(0.1)
    metric = get("availability")
    assert metric.direction == "higher_is_better"
    m = money_for(est, metric, RoiSettings(hourly_cost=100, platform_cost=10, hours_per_unit={"availability": 1}))
    assert m.saved_per_unit.value == pytest.approx(0.1)
    _, worse = exact(0.1)
    m2 = money_for(worse, get("manual_tasks_to_deploy"), RoiSettings(hours_per_unit={"manual_tasks_to_deploy": 1}))
    assert m2.saved_per_unit.value == pytest.approx(-0.1) and m2.hours_saved is not None
    assert m2.hours_saved.value is not None and m2.hours_saved.value < 0  # more steps: negative savings


def test_units_without_hours_per_unit_give_no_money() -> None:
    _, est = exact(-3.0)
    m = money_for(est, get("manual_tasks_to_deploy"), RoiSettings(hourly_cost=120, platform_cost=1000))
    assert m.hours_saved is None and m.value is None and m.roi is None
    assert m.notes == [
        "set roi.hours_per_unit.manual_tasks_to_deploy (engineer-hours one unit of manual_tasks_to_deploy is worth) "
        "to turn the effect into hours and money"
    ]
