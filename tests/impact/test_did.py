"""The estimator on simulated panels with a planted effect: recovery, coverage, pre-trends, staggering, gates."""

from __future__ import annotations

import numpy as np
import pytest

from northstar.impact import DidOptions, Panel, estimate_panel
from tests.impact.simulate import constant, simulate

FAST = DidOptions(bootstrap=200, seed=3)


def twfe(panel: Panel) -> float:
    """The naive two-way fixed-effects estimate: y ~ treated + team dummies + period dummies (least squares)."""
    n, t = panel.y.shape
    ii, tt = np.nonzero(np.isfinite(panel.y))
    treated = (tt >= panel.first_treated[ii]).astype(float)
    x = np.column_stack([treated, np.eye(n)[ii], np.eye(t)[tt][:, 1:]])
    beta = np.linalg.lstsq(x, panel.y[ii, tt], rcond=None)[0]
    return float(beta[0])


def test_recovers_a_planted_effect_within_its_interval() -> None:
    sim = simulate(11, effect=constant(-3.0), missing=0.2)
    est = estimate_panel(sim.panel, FAST)
    assert est.verdict == "ok"
    assert est.att.contains(sim.true_att) and sim.true_att == -3.0
    assert est.att.value == pytest.approx(-3.0, abs=0.4)
    assert est.att.high is not None and est.att.high < 0
    # relative = ATT ÷ the treated teams' counterfactual mean after adoption (levels are ≈ 20)
    assert est.counterfactual_mean == pytest.approx(20.0, abs=4.0)
    assert est.relative.value == pytest.approx(est.att.value / est.counterfactual_mean)
    assert len(est.treated_teams) == 20 and len(est.never_treated_teams) == 12
    assert len(est.control_teams) == 12 + 16  # the never treated, and every cohort but the first while not yet treated


def test_exact_panel_gives_the_exact_effect_event_study_and_counterfactual() -> None:
    """Without noise the estimator must be exact: dynamic effects by period since adoption, and the
    counterfactual series equal to what the adopting teams would have shown had nothing been done."""
    sim = simulate(5, noise=0.0, effect=lambda e: -0.5 * (e + 1))
    est = estimate_panel(sim.panel, FAST)
    assert est.att.value == pytest.approx(sim.true_att)
    post = {r["offset"]: r["value"] for r in est.event_study if r["offset"] >= 0}
    assert post == pytest.approx({e: -0.5 * (e + 1) for e in range(28)})
    base = [r for r in est.event_study if r["base"]]
    assert [r["offset"] for r in base] == [-4, -3, -2, -1] and all(r["value"] == 0 for r in base)
    assert all(abs(r["value"]) < 1e-9 for r in est.event_study if r["offset"] < -4)

    untreated = sim.untreated.y[np.isfinite(sim.panel.first_treated)]
    for row in est.series:
        t = row["period"]
        assert row["observed"] == pytest.approx(sim.panel.y[: len(untreated), t].mean())
        assert row["counterfactual"] == pytest.approx(untreated[:, t].mean())
        assert row["teams"] == 20 and row["treated_teams"] == int((sim.panel.first_treated <= t).sum())
    assert est.pre_trend_passed is True and est.verdict == "ok"


def test_no_effect_interval_covers_zero_in_most_seeds() -> None:
    covered = 0
    for seed in range(30):
        est = estimate_panel(simulate(seed).panel, DidOptions(bootstrap=200, seed=seed))
        covered += est.att.contains(0.0)
    assert covered >= 27  # ≥ 90% of 30 seeds (a 95% interval)


def test_a_planted_pre_trend_is_flagged() -> None:
    sim = simulate(2, trend=0.15, effect=constant(-3.0))
    est = estimate_panel(sim.panel, FAST)
    assert est.pre_trend_passed is False
    assert est.verdict.startswith("pre-trend detected: before treatment, treated teams already drifted")
    assert est.placebo.high is not None and est.placebo.high < 0  # treated teams were higher before the base
    flagged = sum(
        estimate_panel(simulate(s, trend=0.15).panel, DidOptions(bootstrap=200, seed=s)).verdict.startswith("pre-trend")
        for s in range(10)
    )
    assert flagged >= 8


def test_staggered_dynamic_effects_bias_twfe_but_not_this_estimator() -> None:
    """Two cohorts whose effect grows with time since adoption: two-way fixed effects compares the late
    cohort with the already-treated early one (whose effect keeps growing) and lands near zero; comparing
    only with not-yet- and never-treated teams recovers the true average effect."""
    sim = simulate(1, cohorts=(4, 20), per_cohort=10, never=3, periods=36, noise=0.5, effect=lambda e: -0.3 * (e + 1))
    naive = twfe(sim.panel)
    est = estimate_panel(sim.panel, DidOptions(bootstrap=300, seed=1))
    assert sim.true_att == pytest.approx(-4.15)
    assert abs(naive - sim.true_att) > 3.0  # TWFE: about −0.05, wrong by ~99%
    assert not (est.att.low is not None and est.att.low <= naive <= (est.att.high or 0))
    assert est.att.contains(sim.true_att) and est.att.value == pytest.approx(sim.true_att, abs=0.3)
    assert est.verdict == "ok"


def test_already_treated_teams_are_never_controls() -> None:
    """A cohort treated with a huge effect before a later one must not move the later cohort's estimate."""
    sim = simulate(4, cohorts=(6, 18), per_cohort=5, never=6, noise=0.0, effect=constant(-2.0))
    y = sim.panel.y.copy()
    early = sim.panel.first_treated == 6
    y[early] += np.where(np.arange(y.shape[1]) >= 6, -50.0, 0.0)[None, :]  # the early cohort's own effect
    est = estimate_panel(Panel(sim.panel.teams, sim.panel.periods, y, sim.panel.units, sim.panel.first_treated), FAST)
    late = next(c for c in est.cohorts if c["period"] == 18)
    assert late["att"] == pytest.approx(-2.0)


def test_a_partly_treated_first_period_is_left_out() -> None:
    """Adopting mid-period half-treats that period: it is neither before nor after, so the effect stays exact."""
    sim = simulate(6, noise=0.0, effect=constant(-2.0))
    p = sim.panel
    y = p.y.copy()
    rows = np.flatnonzero(np.isfinite(p.first_treated))
    y[rows, p.first_treated[rows].astype(int)] += 1.0  # only half of the first period was treated
    diluted = estimate_panel(Panel(p.teams, p.periods, y, p.units, p.first_treated), FAST)
    partial = np.isfinite(p.first_treated)
    exact = estimate_panel(Panel(p.teams, p.periods, y, p.units, p.first_treated, partial), FAST)
    assert diluted.att.value is not None and diluted.att.value > -2.0 + 0.01
    assert exact.att.value == pytest.approx(-2.0)
    assert exact.post_units == diluted.post_units - 10 * len(rows)  # the first period's units are not counted


def test_bootstrap_is_seeded() -> None:
    panel = simulate(8, effect=constant(-1.0)).panel
    a = estimate_panel(panel, DidOptions(bootstrap=100, seed=42))
    b = estimate_panel(panel, DidOptions(bootstrap=100, seed=42))
    c = estimate_panel(panel, DidOptions(bootstrap=100, seed=43))
    assert a.att == b.att and a.att.value == c.att.value and a.att.low != c.att.low


# -- honesty gates ----------------------------------------------------------------------------------------------


def test_too_few_treated_teams() -> None:
    est = estimate_panel(simulate(1, cohorts=(10,), per_cohort=2, effect=constant(-3.0)).panel, FAST)
    assert est.verdict == (
        "insufficient data: 2 treated team(s) with the outcome before and after treatment (at least 3 needed)"
    )
    assert not est.reliable


def test_too_few_control_teams() -> None:
    # one cohort (teams of a cohort are never each other's controls) and two never-treated teams
    est = estimate_panel(simulate(1, cohorts=(10,), per_cohort=6, never=2).panel, FAST)
    assert est.verdict.startswith("insufficient data: 2 control team(s)")


def test_no_pre_period() -> None:
    sim = simulate(1, cohorts=(0,), per_cohort=6, never=6)
    est = estimate_panel(sim.panel, FAST)
    assert est.verdict == (
        "insufficient data: no pre-period — every treated team was treated from the first period of data"
    )
    assert est.att.value is None and len(est.excluded) == 6


def test_no_period_before_the_base_window_to_check_trends() -> None:
    est = estimate_panel(simulate(1, cohorts=(2, 3, 4), per_cohort=3).panel, FAST)
    assert est.verdict.startswith("insufficient data: no pre-period before the 4-period base window")
    assert est.placebo_cells == 0 and est.att.value is not None


def test_nobody_treated() -> None:
    est = estimate_panel(simulate(1, cohorts=(), never=10).panel, FAST)
    assert est.verdict == "insufficient data: no team was treated within the data"


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="bootstrap must be at least 50"):
        DidOptions(bootstrap=10)
    with pytest.raises(ValueError, match="base_periods"):
        DidOptions(base_periods=0)
