"""Staggered difference-in-differences on a team × period panel (Callaway & Sant'Anna style).

Teams adopt at different periods. For each adoption cohort g (the teams first treated in period g) and each
period t, ATT(g, t) compares the change of the outcome from the cohort's base (the mean of periods
g−k … g−1, k = `base_periods`) to period t between the cohort and its controls: the teams not yet treated at
t (and not treated in the base either) and the never-treated teams. Already-treated teams are never
controls, which is what keeps staggered adoption from biasing the estimate the way a two-way fixed-effects
regression is biased. The cells are aggregated, weighted by the number of treated teams behind each, into
the overall ATT, an event study by periods since adoption, per-period effects (the counterfactual series)
and a placebo effect over the pre-periods (the pre-trend check).

Uncertainty comes from a cluster bootstrap over teams: teams are resampled with replacement (separately
among the treated cohorts and among the other teams, so each replicate keeps the design) and everything is
recomputed. The replicates are rows of a weight matrix (how often each team was drawn), so one replicate is
one row of a matrix product and the whole bootstrap is a handful of small products per cohort.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_TEAMS",
    "DidEstimate",
    "DidOptions",
    "Interval",
    "Panel",
    "estimate_panel",
    "interval_of",
    "verdict",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MIN_TEAMS = 3  # fewer treated or control teams than this: "insufficient data"


@dataclass(frozen=True)
class Panel:
    """An outcome per team and period, its units, and when each team was first treated.

    `y[i, t]` is the outcome of team i in period t (NaN when the metric has no value there); `units[i, t]`
    is how many outcome units stand behind it (changes, deployments: the metric's `n`); `first_treated[i]`
    is the index of team i's first treated period (it may be negative, treated before the data starts, or
    ≥ the number of periods, treated after it ends) or `inf` for a team never treated. `partial[i]` says that
    team i was treated after its first treated period began: that period is only partly treated, so it is
    left out of the comparison (neither before nor after) and its units are not counted as treated.
    """

    teams: Sequence[str]
    periods: Sequence[Any]
    y: FloatArray
    units: FloatArray
    first_treated: FloatArray
    partial: BoolArray | None = None

    def __post_init__(self) -> None:
        n, t = len(self.teams), len(self.periods)
        if self.y.shape != (n, t) or self.units.shape != (n, t) or self.first_treated.shape != (n,):
            raise ValueError(
                f"panel shapes disagree: {n} teams × {t} periods, y {self.y.shape}, units {self.units.shape}, "
                f"first_treated {self.first_treated.shape}"
            )
        if self.partial is not None and self.partial.shape != (n,):
            raise ValueError(f"panel shapes disagree: {n} teams, partial {self.partial.shape}")

    def without_transition(self) -> Panel:
        """The panel with each partly treated first period blanked (no value, no units)."""
        if self.partial is None or not self.partial.any():
            return self
        t = self.y.shape[1]
        g = self.first_treated
        rows = np.flatnonzero(self.partial & np.isfinite(g) & (g >= 0) & (g < t))
        cols = g[rows].astype(np.int64)
        y, units = self.y.copy(), self.units.copy()
        y[rows, cols] = np.nan
        units[rows, cols] = 0.0
        return Panel(self.teams, self.periods, y, units, g, None)


@dataclass(frozen=True)
class DidOptions:
    """Estimator settings: base window, pre-periods checked, bootstrap replicates and seed, interval level."""

    base_periods: int = 4
    pre_periods: int = 8
    bootstrap: int = 500
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.base_periods < 1:
            raise ValueError("base_periods must be at least 1")
        if self.pre_periods < 1:
            raise ValueError("pre_periods must be at least 1")
        if self.bootstrap < 50:
            raise ValueError(f"bootstrap must be at least 50 replicates for a 95% interval (got {self.bootstrap})")
        if not 0.5 < self.level < 1:
            raise ValueError(f"level must be between 0.5 and 1 (got {self.level})")


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval (None where it cannot be computed)."""

    value: float | None
    low: float | None
    high: float | None

    def excludes_zero(self, tol: float = 0.0) -> bool:
        """True when the whole interval lies above `tol` or below `-tol` (tol absorbs rounding noise)."""
        return self.low is not None and self.high is not None and (self.low > tol or self.high < -tol)

    def contains(self, x: float) -> bool:
        return self.low is not None and self.high is not None and self.low <= x <= self.high

    def to_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass
class DidEstimate:
    """What the estimator found on one panel (point estimates, intervals, counts and the verdict)."""

    att: Interval
    relative: Interval
    counterfactual_mean: float | None
    placebo: Interval
    placebo_cells: int
    event_study: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
    series: list[dict[str, Any]]
    treated_teams: list[str]
    control_teams: list[str]
    never_treated_teams: list[str]
    excluded: dict[str, str]
    post_units: float
    verdict: str
    options: DidOptions
    replicates: int
    att_replicates: FloatArray = field(repr=False)
    units_replicates: FloatArray = field(repr=False)
    tolerance: float = 0.0  # below this an estimate is 0 (rounding noise of exact data)

    @property
    def reliable(self) -> bool:
        return self.verdict == "ok"

    @property
    def pre_trend_passed(self) -> bool | None:
        """True when the placebo interval covers 0, False when it excludes 0, None when it cannot be run."""
        if self.placebo.low is None:
            return None
        return not self.placebo.excludes_zero(self.tolerance)


# -- the bootstrap weights ------------------------------------------------------------------------------------


def _weights(strata: Sequence[npt.NDArray[np.int64]], n: int, replicates: int, seed: int) -> FloatArray:
    """(replicates + 1) × n draw counts: row 0 is the sample itself, each other row a resample of the teams
    drawn with replacement within each stratum."""
    rng = np.random.default_rng(seed)
    w = np.zeros((replicates + 1, n))
    w[0] = 1.0
    for idx in strata:
        if len(idx) == 0:
            continue
        w[1:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=replicates)
    return w


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def interval_of(reps: FloatArray, level: float) -> Interval:
    """Point estimate (row 0) and the percentile interval of the bootstrap rows."""
    point = float(reps[0])
    boot = reps[1:]
    boot = boot[np.isfinite(boot)]
    if not math.isfinite(point):
        return Interval(None, None, None)
    if len(boot) < 0.9 * (len(reps) - 1):  # too many replicates undefined to trust an interval
        return Interval(point, None, None)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return Interval(point, float(lo), float(hi))


# -- the estimator --------------------------------------------------------------------------------------------


@dataclass
class _Sums:
    """Running numerators and denominators (one row per replicate) of every aggregate."""

    reps: int
    periods: int
    span: int  # event-study offsets -span … +span
    att_num: FloatArray = field(init=False)
    att_den: FloatArray = field(init=False)
    cf_num: FloatArray = field(init=False)
    pre_num: FloatArray = field(init=False)
    pre_den: FloatArray = field(init=False)
    t_num: FloatArray = field(init=False)
    t_den: FloatArray = field(init=False)
    e_num: FloatArray = field(init=False)
    e_den: FloatArray = field(init=False)
    pre_cells: int = 0
    incomplete: BoolArray = field(init=False)

    def __post_init__(self) -> None:
        r, t, e = self.reps, self.periods, 2 * self.span + 1
        self.att_num, self.att_den, self.cf_num = np.zeros(r), np.zeros(r), np.zeros(r)
        self.pre_num, self.pre_den = np.zeros(r), np.zeros(r)
        self.t_num, self.t_den = np.zeros((r, t)), np.zeros((r, t))
        self.e_num, self.e_den = np.zeros((r, e)), np.zeros((r, e))
        self.incomplete = np.zeros(t, dtype=bool)


def _base(y: FloatArray, g: int, k: int) -> tuple[FloatArray, BoolArray]:
    """Each team's mean outcome over the base window g−k … g−1 (and whether it has any value there)."""
    window = y[:, max(0, g - k) : g]
    have = np.isfinite(window)
    count = have.sum(axis=1)
    total = np.where(have, window, 0.0).sum(axis=1)
    return _ratio(total, count.astype(float)), count > 0


def _cohort(
    panel: Panel,
    g: int,
    w: FloatArray,
    opts: DidOptions,
    sums: _Sums,
) -> tuple[dict[str, Any], BoolArray, BoolArray]:
    """Add cohort g's ATT(g, t) cells to the sums; return its summary, its treated teams and its controls."""
    y, gt = panel.y, panel.first_treated
    n_t = y.shape[1]
    k, lead = opts.base_periods, opts.pre_periods
    base, base_ok = _base(y, g, k)
    valid = np.isfinite(y) & base_ok[:, None]
    diff = np.where(valid, y - base[:, None], 0.0)
    level = np.where(valid, y, 0.0)

    t_all = np.arange(n_t)
    pre = t_all[max(0, g - k - lead) : max(0, g - k)]
    post = t_all[g:]
    cols = np.concatenate([pre, post])
    treated = (gt == g) & base_ok
    # controls at t: untreated through max(t, g) — never-treated or not yet treated (never cohort g itself)
    control = (gt[:, None] > np.maximum(t_all[cols], g)[None, :]) & valid[:, cols]
    in_treated = valid[:, cols] & treated[:, None]

    n1 = w @ in_treated
    s1 = w @ (in_treated * diff[:, cols])
    y1 = w @ (in_treated * level[:, cols])
    n0 = w @ control
    s0 = w @ (control * diff[:, cols])
    att = _ratio(s1, n1) - _ratio(s0, n0)
    ok = np.isfinite(att)
    wt = np.where(ok, n1, 0.0)
    eff = np.where(ok, att, 0.0)

    is_post = np.zeros(len(cols), dtype=bool)
    is_post[len(pre) :] = True
    sums.att_num += (wt * eff)[:, is_post].sum(axis=1)
    sums.att_den += wt[:, is_post].sum(axis=1)
    sums.cf_num += np.where(ok, y1 - n1 * eff, 0.0)[:, is_post].sum(axis=1)
    sums.pre_num += (wt * eff)[:, ~is_post].sum(axis=1)
    sums.pre_den += wt[:, ~is_post].sum(axis=1)
    sums.pre_cells += int((ok[0] & ~is_post).sum())
    sums.t_num[:, post] += (wt * eff)[:, is_post]
    sums.t_den[:, post] += wt[:, is_post]
    sums.incomplete[post] |= (n1[0, is_post] > 0) & ~ok[0, is_post]
    offsets = np.clip(cols - g, -sums.span, sums.span) + sums.span
    np.add.at(sums.e_num.T, offsets, (wt * eff).T)
    np.add.at(sums.e_den.T, offsets, wt.T)

    post_ok = ok[0] & is_post
    cohort_att = float(_ratio((wt * eff)[:1, post_ok].sum(axis=1), wt[:1, post_ok].sum(axis=1))[0])
    summary = {
        "period": g,
        "teams": int(treated.sum()),
        "att": cohort_att if math.isfinite(cohort_att) else None,
        "post_periods": int(post_ok.sum()),
    }
    has_post = (in_treated[:, is_post] & ok[0, is_post][None, :]).any(axis=1)
    used_control = (control[:, is_post] & post_ok[is_post][None, :]).any(axis=1)
    return summary, treated & has_post, used_control


def estimate_panel(panel: Panel, options: DidOptions | None = None) -> DidEstimate:
    """Group-time ATTs with not-yet- and never-treated controls, aggregated, with bootstrap intervals."""
    opts = options or DidOptions()
    panel = panel.without_transition()
    y, gt = np.asarray(panel.y, dtype=float), np.asarray(panel.first_treated, dtype=float)
    n, n_t = y.shape
    names = list(panel.teams)
    excluded = {names[i]: "treated from the first period of data: no pre-period" for i in np.flatnonzero(gt <= 0)}
    cohorts = sorted({int(g) for g in gt[np.isfinite(gt)] if 1 <= g < n_t})
    in_cohort = np.isin(gt, cohorts)
    strata = [np.flatnonzero(in_cohort), np.flatnonzero(~in_cohort)]
    w = _weights(strata, n, opts.bootstrap, opts.seed)
    sums = _Sums(opts.bootstrap + 1, n_t, span=max(n_t, 1))

    treated_any = np.zeros(n, dtype=bool)
    control_any = np.zeros(n, dtype=bool)
    included = np.zeros(n, dtype=bool)
    cohort_rows = []
    for g in cohorts:
        row, treated, controls = _cohort(panel, g, w, opts, sums)
        _, base_ok = _base(y, g, opts.base_periods)
        for i in np.flatnonzero((gt == g) & ~base_ok):
            excluded[names[i]] = f"no outcome value in the {opts.base_periods} period(s) before treatment"
        included |= (gt == g) & base_ok
        treated_any |= treated
        control_any |= controls
        cohort_rows.append(row)

    att = _ratio(sums.att_num, sums.att_den)
    cf = _ratio(sums.cf_num, sums.att_den)
    rel = _ratio(att, cf)
    placebo = _ratio(sums.pre_num, sums.pre_den)
    att_i = interval_of(att, opts.level)
    placebo_i = interval_of(placebo, opts.level) if sums.pre_cells else Interval(None, None, None)

    # outcome units of the treated teams after their treatment: what the effect applies to
    post_mask = np.arange(n_t)[None, :] >= gt[:, None]
    team_units = np.where(post_mask & included[:, None], np.nan_to_num(panel.units), 0.0).sum(axis=1)
    units = w @ team_units

    estimate = DidEstimate(
        att=att_i,
        relative=interval_of(rel, opts.level),
        counterfactual_mean=float(cf[0]) if math.isfinite(cf[0]) else None,
        placebo=placebo_i,
        placebo_cells=sums.pre_cells,
        event_study=_event_study(sums, opts),
        cohorts=[{**c, "period": panel.periods[c["period"]]} for c in cohort_rows],
        series=_series(panel, sums, included, opts),
        treated_teams=[names[i] for i in np.flatnonzero(treated_any)],
        control_teams=[names[i] for i in np.flatnonzero(control_any)],
        never_treated_teams=[names[i] for i in np.flatnonzero(~np.isfinite(gt))],
        excluded=excluded,
        post_units=float(units[0]),
        verdict="",
        options=opts,
        replicates=opts.bootstrap,
        att_replicates=att,
        units_replicates=units,
        tolerance=1e-9 * max(float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 1.0, 1.0),
    )
    estimate.verdict = verdict(estimate, n_cohorts=len(cohorts))
    return estimate


def _event_study(sums: _Sums, opts: DidOptions) -> list[dict[str, Any]]:
    """ATT by periods since adoption (negative: placebo pre-periods, relative to the base window)."""
    effect = _ratio(sums.e_num, sums.e_den)
    rows: list[dict[str, Any]] = []
    for j in np.flatnonzero(sums.e_den[0] > 0):
        e = int(j) - sums.span
        iv = interval_of(effect[:, j], opts.level)
        rows.append({"offset": e, **iv.to_dict(), "teams": round(float(sums.e_den[0, j])), "base": False})
    if rows:  # the base window is the reference: 0 by construction
        base = [
            {"offset": -j, "value": 0.0, "low": None, "high": None, "teams": None, "base": True}
            for j in range(opts.base_periods, 0, -1)
        ]
        rows = sorted(rows + base, key=lambda r: r["offset"])
    return rows


def _series(panel: Panel, sums: _Sums, included: BoolArray, opts: DidOptions) -> list[dict[str, Any]]:
    """Per period: the adopting teams' observed mean outcome and what it would have been without treatment."""
    y = panel.y
    have = np.isfinite(y) & included[:, None]
    teams = have.sum(axis=0)
    observed = _ratio(np.where(have, y, 0.0).sum(axis=0), teams.astype(float))
    effect = _ratio(sums.t_num, sums.t_den)
    gap = _ratio(sums.t_num[0], teams.astype(float))
    rows = []
    for t, period in enumerate(panel.periods):
        if teams[t] == 0:
            continue
        iv = interval_of(effect[:, t], opts.level) if sums.t_den[0, t] > 0 else Interval(None, None, None)
        known = not sums.incomplete[t]
        obs = float(observed[t])
        rows.append(
            {
                "period": period,
                "teams": int(teams[t]),
                "treated_teams": round(float(sums.t_den[0, t])),
                "observed": obs,
                "counterfactual": (obs - float(gap[t])) if known else None,
                "effect": iv.value if known else None,
                "effect_low": iv.low if known else None,
                "effect_high": iv.high if known else None,
            }
        )
    return rows


def verdict(est: DidEstimate, *, n_cohorts: int) -> str:
    """`ok`, or why the estimate must not be read as a confident number (DESIGN.md §4 honesty gates)."""
    if n_cohorts == 0:
        if est.excluded:
            return "insufficient data: no pre-period — every treated team was treated from the first period of data"
        return "insufficient data: no team was treated within the data"
    treated, controls = len(est.treated_teams), len(est.control_teams)
    if treated < MIN_TEAMS:
        return (
            f"insufficient data: {treated} treated team(s) with the outcome before and after treatment "
            f"(at least {MIN_TEAMS} needed)"
        )
    if controls < MIN_TEAMS:
        return (
            f"insufficient data: {controls} control team(s) (never or not yet treated, with the outcome) "
            f"(at least {MIN_TEAMS} needed)"
        )
    if est.att.value is None or est.att.low is None:
        return "insufficient data: the effect could not be estimated in enough bootstrap samples"
    if est.placebo_cells == 0:
        return (
            f"insufficient data: no pre-period before the {est.options.base_periods}-period base window, "
            "so parallel trends cannot be checked"
        )
    if est.placebo.low is None:
        return "insufficient data: the pre-trend check could not be computed in enough bootstrap samples"
    if est.pre_trend_passed is False:
        return (
            f"pre-trend detected: before treatment, treated teams already drifted from their controls by "
            f"{est.placebo.value:.4g} on average ({est.options.level:.0%} interval {est.placebo.low:.4g} to "
            f"{est.placebo.high:.4g} excludes 0); the effect would be confounded with that trend"
        )
    return "ok"
