"""Simulated team × period panels with a planted effect: y = team level + common shock + effect + noise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from northstar.impact import Panel

Effect = Callable[[np.ndarray], np.ndarray]  # periods since adoption (≥ 0) → effect


def constant(value: float) -> Effect:
    return lambda e: np.full(e.shape, value)


@dataclass(frozen=True)
class Simulated:
    panel: Panel
    true_att: float  # mean planted effect over the treated team-periods the estimator can use
    untreated: Panel  # the same panel had nothing been done (same draws, no effect)


def simulate(
    seed: int,
    *,
    cohorts: Sequence[int] = (8, 12, 16, 20, 24),
    per_cohort: int = 4,
    never: int = 12,
    periods: int = 36,
    effect: Effect = constant(0.0),
    noise: float = 1.0,
    trend: float = 0.0,
    missing: float = 0.0,
    units: float = 10.0,
) -> Simulated:
    """Teams in adoption `cohorts` (period indices) plus `never` never-treated teams.

    `trend` adds a drift of `trend` per period to the treated teams only (a violated parallel trend);
    `missing` blanks that share of team-periods at random (the metric had no value there).
    """
    rng = np.random.default_rng(seed)
    first = np.concatenate([np.repeat(np.asarray(cohorts, dtype=float), per_cohort), np.full(never, np.inf)])
    n = len(first)
    t = np.arange(periods)
    level = rng.normal(20.0, 4.0, n)[:, None]
    shock = np.cumsum(rng.normal(0.0, 0.5, periods))[None, :]
    y0 = level + shock + rng.normal(0.0, noise, (n, periods)) if noise else level + shock + np.zeros((n, periods))
    y0 = y0 + trend * np.isfinite(first)[:, None] * t[None, :]
    since = t[None, :] - first[:, None]
    treated = since >= 0
    tau = np.where(treated, effect(np.where(treated, since, 0.0)), 0.0)
    gone = rng.random((n, periods)) < missing
    y = np.where(gone, np.nan, y0 + tau)
    base = np.where(gone, np.nan, y0)
    true_att = float(tau[treated & ~gone].mean()) if (treated & ~gone).any() else 0.0
    teams = [f"t{i:02d}" for i in range(n)]
    u = np.where(gone, 0.0, units)
    return Simulated(
        panel=Panel(teams, list(range(periods)), y, u, first),
        true_att=true_att,
        untreated=Panel(teams, list(range(periods)), base, u, first),
    )
