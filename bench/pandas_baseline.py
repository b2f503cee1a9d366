"""A second, independent implementation of DESIGN.md §3 in vectorised pandas, for the scorecard benchmark.

It is written from the definitions (DESIGN.md §3, the metric specs and the choices each metric documents in
its catalog definition), never from northstar's Ibis code, so agreement between the two is a real
cross-check. It reads the same Parquet files the benchmark ingests into northstar and returns rows in the
DESIGN.md §6 shape (`metric`, `period`, `period_start`, `by`, `group`, `value`, `n`, extras, `suppressed`)
with the same conventions: weekly periods are ISO weeks; a period without data is null (0 for counts) for
every group seen; people-based values for fewer than `min_group_size` people are suppressed.

Only weekly periods and the breakdowns the benchmark runs are implemented. The metrics live in
`baseline_people` (adoption, cohorts, support, satisfaction) and `baseline_systems` (delivery, reliability,
feature store); `baseline_core` has the shared time and group helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import baseline_people as pp
import baseline_systems as sy
from baseline_core import NULL, Bench, _iso, load

__all__ = ["SPECS", "Bench", "Spec", "load", "run"]

Fill = tuple[dict[str, Any], ...] | Callable[[pd.DataFrame], list[dict[str, Any]]]


@dataclass(frozen=True)
class Spec:
    """What the contract says about a metric's rows.

    `count`: empty periods are 0 (else null); `people`: rows carry `suppressed`, and a value from fewer than
    min_group_size people (the frame's `people` column) is hidden, with its n and value extras; `fill`: the
    keys (e.g. every lifecycle state) each group gets in every period; `empty`: extras of a filled row.
    """

    fn: Callable[[Bench, str | None], pd.DataFrame]
    by: tuple[str | None, ...] = ("team", None)
    count: bool = False
    people: bool = False
    extra: tuple[str, ...] = ()
    fill: Fill = ()
    empty: dict[str, Any] = field(default_factory=dict)
    gridded: bool = True


SVC = ("service", None)
IDENTITY = ("cohort", "offset", "step", "state", "key", "slo", "severity", "dimension")
STEPS = (
    {"step": "first_activity", "step_index": 0},
    {"step": "activation", "step_index": 1},
    {"step": "value", "step_index": 2},
)
SLO_EXTRA = ("slo", "sli", "error_budget_remaining", "burn_1h", "burn_6h", "burn_1d", "burn_3d", "alert")

SPECS: dict[str, Spec] = {
    "active_teams": Spec(pp.active_teams, count=True),
    "active_users": Spec(pp.active_users, count=True, people=True),
    "adoption_rate": Spec(pp.adoption_rate, by=(None,)),
    "feature_adoption_rate": Spec(pp.feature_adoption_rate, by=(None,), extra=("key",)),
    "activation_rate": Spec(pp.activation_rate),
    "time_to_value": Spec(pp.time_to_value, extra=("share_reached",)),
    "usage_frequency": Spec(pp.usage_frequency),
    "stickiness": Spec(pp.stickiness, people=True),
    "churn_rate": Spec(pp.churn_rate),
    "feature_requests": Spec(pp.feature_requests, count=True),
    "users_total": Spec(pp.users_total, count=True, people=True),
    "models_total": Spec(pp.models_total, count=True),
    "retention": Spec(pp.retention, people=True, extra=("cohort", "offset"), gridded=False),
    "lifecycle": Spec(
        pp.lifecycle, count=True, people=True, extra=("state",), fill=tuple({"state": s} for s in pp.STATES)
    ),
    "funnel": Spec(pp.funnel, people=True, extra=("step", "step_index"), fill=STEPS),
    "support_ratio": Spec(pp.support_ratio, people=True),
    "time_to_first_answer": Spec(pp.time_to_first_answer, people=True, extra=("unanswered",)),
    "nps": Spec(pp.nps, people=True),
    "space_score": Spec(
        pp.space_score, people=True, extra=("dimension",), fill=tuple({"dimension": d} for d in pp.SPACE)
    ),
    "survey_response_rate": Spec(pp.survey_response_rate, people=True),
    "deployment_frequency": Spec(
        sy.deployment_frequency, count=True, extra=("deploy_days", "band"), empty={"deploy_days": 0, "band": "low"}
    ),
    "lead_time_for_changes": Spec(sy.lead_time_for_changes, extra=("band",)),
    "time_to_deploy": Spec(sy.time_to_deploy),
    "deployment_duration": Spec(sy.deployment_duration),
    "change_failure_rate": Spec(sy.change_failure_rate, extra=("band",)),
    "mttr": Spec(sy.mttr, extra=("band",)),
    "failed_deployment_recovery_time": Spec(sy.failed_deployment_recovery_time, extra=("band",)),
    "manual_tasks_to_deploy": Spec(sy.manual_tasks_to_deploy),
    "dora_band": Spec(sy.dora_band, extra=("key", "band"), fill=tuple({"key": k} for k in sy.DORA_KEYS)),
    "throughput": Spec(sy.throughput, by=SVC),
    "error_rate": Spec(sy.error_rate, by=SVC),
    "availability": Spec(sy.availability, by=SVC),
    "latency_p50": Spec(sy.latency(0.50), by=SVC),
    "latency_p95": Spec(sy.latency(0.95), by=SVC),
    "latency_p99": Spec(sy.latency(0.99), by=SVC),
    "latency_budget_attainment": Spec(sy.latency_budget_attainment, by=("service",)),
    "slo": Spec(sy.slo, by=SVC, extra=SLO_EXTRA, gridded=False),
    "incident_count": Spec(
        sy.incident_count, by=("service", "team", None), count=True, extra=("severity",), fill=sy.severities
    ),
    "mtbf": Spec(sy.mtbf, by=("service", "team", None)),
    "cpu_utilization_p95": Spec(sy.p95("cpu_util"), by=SVC),
    "memory_utilization_p95": Spec(sy.p95("memory_util"), by=SVC),
    "saturation": Spec(sy.saturation, by=SVC),
    "feature_reuse": Spec(sy.feature_reuse, by=(None,)),
    "feature_ownership": Spec(sy.feature_ownership, by=(None,)),
    "feature_freshness": Spec(sy.feature_freshness, by=(None,)),
}


def _grid(spec: Spec, df: pd.DataFrame, b: Bench, by: str | None) -> pd.DataFrame:
    """Add the empty periods: every period × every group seen (× every fill key), null value (0 for counts)."""
    fills = list(spec.fill(df) if callable(spec.fill) else spec.fill)
    keys = ["wk", "group", *(fills[0] if fills else [])]
    groups = sorted(g for g in df["group"].unique() if g != NULL) if by else [NULL]
    grid = pd.MultiIndex.from_product([b.weeks, groups], names=["wk", "group"]).to_frame(False)
    if fills:
        grid = grid.merge(pd.DataFrame(fills), how="cross")
    have = df[keys].astype(object).drop_duplicates().assign(_have=1)
    missing = grid.astype(object).merge(have, on=keys, how="left")
    missing = missing[missing._have.isna()].drop(columns="_have")
    missing["value"] = 0.0 if spec.count else np.nan
    missing["n"] = 0
    for k in spec.extra:
        if k not in keys:
            missing[k] = spec.empty.get(k, 0 if spec.count else None)
    return pd.concat([df.assign(_filled=False), missing.assign(_filled=True)], ignore_index=True)


def _column(s: pd.Series) -> list[Any]:
    """A column as Python values, nulls as None (numpy scalars become int/float/str)."""
    if s.dtype == object:
        return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in s.tolist()]
    vals = s.tolist()
    mask = s.isna().tolist()
    return [None if m else v for v, m in zip(vals, mask, strict=True)]


def shape(name: str, spec: Spec, df: pd.DataFrame, b: Bench, by: str | None) -> list[dict[str, Any]]:
    """Grid-fill, suppress and format one metric's frame as DESIGN.md §6 rows."""
    df = df[(df.wk >= b.weeks[0]) & (df.wk < b.hi)]
    df = df.assign(group=df["group"].astype(object))
    df = _grid(spec, df, b, by) if spec.gridded else df.assign(_filled=False)
    n = len(df)
    value = df["value"].astype(float)
    cols: dict[str, list[Any]] = {
        "metric": [name] * n,
        "period": ["week"] * n,
        "period_start": _iso(df.wk.to_numpy(dtype=np.int64)).tolist(),
        "by": [by] * n,
        "group": [None if g == NULL else g for g in df["group"].tolist()],
        "value": _column(value),
        "n": df["n"].astype(np.int64).tolist(),
    }
    extra = {k: _column(df[k]) for k in spec.extra}
    cols.update(extra)
    if spec.people:
        # DESIGN.md §3 privacy: a value computed from fewer than min_group_size people is hidden, with its n and
        # the extras that are not part of the row's identity (they could reveal it); extras count as data too
        hide = np.zeros(n, dtype=bool)
        if "people" in df:
            values = [pd.Series(v, dtype=object).notna().to_numpy() for k, v in extra.items() if k not in IDENTITY]
            has_data = value.notna().to_numpy() | (df["n"].to_numpy() > 0) | np.any(values or [hide], axis=0)
            few = df["people"].fillna(0).to_numpy(dtype=float) < int(b.get("min_group_size", 5))
            hide = has_data & few & ~df["_filled"].to_numpy(dtype=bool)
        for k in ["value", "n", *(k for k in spec.extra if k not in IDENTITY)]:
            cols[k] = [None if h else v for v, h in zip(cols[k], hide, strict=True)]
        cols["suppressed"] = hide.tolist()
    names = list(cols)
    return [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def run(b: Bench, plan: dict[str, str | None]) -> dict[str, list[dict[str, Any]]]:
    """Compute the metrics of `plan` (name → breakdown) that this baseline implements; rows per metric."""
    out = {}
    for name, by in plan.items():
        spec = SPECS.get(name)
        if spec is None or by not in spec.by:
            continue
        out[name] = shape(name, spec, spec.fn(b, by), b, by)
    return out
