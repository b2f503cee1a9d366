"""Ground truth: what the demo planted, and the same numbers measured back from the generated tables.

The measured values follow DESIGN.md §1 and §3 literally, in plain pandas, so that the metric catalog
(and its tests) can be checked against an independent computation on the same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from northstar.demo._common import Calendar

__all__ = [
    "activity_with_team",
    "change_failure_rate",
    "component_shares",
    "feature_summary",
    "golden_path_measured",
    "lead_times",
    "measured_layer",
    "saturation_share",
    "space_means",
    "support_ratio_by_quarter",
    "window_availability",
]


def _df(table: pa.Table) -> pd.DataFrame:
    df: pd.DataFrame = table.to_pandas()
    return df


def activity_with_team(tables: Mapping[str, pa.Table]) -> pd.DataFrame:
    """Activity with `team` filled from `people` where the source left it empty."""
    act = _df(tables["activity"].select(["ts", "actor", "team", "component"]))
    people = _df(tables["people"].select(["id", "team"])).set_index("id")["team"]
    act["team"] = act["team"].fillna(act["actor"].map(people))
    return act


def component_shares(tables: Mapping[str, pa.Table], cal: Calendar, window_days: int = 28) -> dict[str, Any]:
    """Share of teams active in the last `window_days` that used each component (the assessment's input)."""
    act = activity_with_team(tables)
    since = pd.Timestamp(cal.end - timedelta(days=window_days))
    last = act[act["ts"] >= since]
    active = int(last["team"].nunique())
    per = last.groupby("component")["team"].nunique()
    comps = _df(tables["components"].select(["id"]))["id"]
    return {
        "window": {"start": since.date().isoformat(), "end": cal.end.isoformat()},
        "active_teams": active,
        "share": {str(c): round(float(per.get(c, 0)) / active, 4) for c in comps},
    }


def measured_layer(tables: Mapping[str, pa.Table], shares: Mapping[str, float], threshold: float) -> int:
    """Highest layer with an adopted component; layers 0–1 count when declared (DESIGN.md §1)."""
    comps = tables["components"].select(["id", "layer"]).to_pylist()
    layers = [int(r["layer"]) for r in comps if r["layer"] <= 1 or shares.get(str(r["id"]), 0) >= threshold]
    return max(layers) if layers else 0


def lead_times(tables: Mapping[str, pa.Table]) -> pd.DataFrame:
    """One row per deployed change: team, finished_at of its first succeeded production deploy, lead time (s)."""
    dep = _df(tables["deployments"].select(["environment", "status", "finished_at", "change_ids"]))
    dep = dep[(dep["environment"] == "production") & (dep["status"] == "succeeded")]
    first = dep.explode("change_ids").groupby("change_ids")["finished_at"].min()
    ch = _df(tables["changes"].select(["id", "team", "kind", "created_at"])).set_index("id")
    out = ch.join(first.rename("finished_at"), how="inner")
    out["lead_s"] = (out["finished_at"] - out["created_at"]).dt.total_seconds()
    return out.reset_index()


def golden_path_measured(tables: Mapping[str, pa.Table], adoption: Mapping[str, pd.Timestamp]) -> dict[str, Any]:
    """Before/after numbers per treated team: lead time, time to deploy and manual steps."""
    lt = lead_times(tables)
    dep = _df(
        tables["deployments"].select(["team", "environment", "status", "finished_at", "model_ready_at", "manual_steps"])
    )
    prod = dep[dep["environment"] == "production"]
    ok = prod[prod["status"] == "succeeded"]
    ratios: list[float] = []
    ttd_ratios: list[float] = []
    steps_delta: list[float] = []
    for team, at in adoption.items():
        t_lt = lt[lt["team"] == team]
        after = t_lt["finished_at"] >= at
        if after.sum() >= 10 and (~after).sum() >= 10:
            ratios.append(float(t_lt.loc[after, "lead_s"].median() / t_lt.loc[~after, "lead_s"].median()))
        t_ok = ok[(ok["team"] == team) & ok["model_ready_at"].notna()]
        ttd = (t_ok["finished_at"] - t_ok["model_ready_at"]).dt.total_seconds()
        a = t_ok["finished_at"] >= at
        if a.sum() >= 5 and (~a).sum() >= 5:
            ttd_ratios.append(float(ttd[a].median() / ttd[~a].median()))
        t_prod = prod[(prod["team"] == team) & prod["manual_steps"].notna()]
        a = t_prod["finished_at"] >= at
        if a.sum() >= 5 and (~a).sum() >= 5:
            steps_delta.append(float(t_prod.loc[a, "manual_steps"].mean() - t_prod.loc[~a, "manual_steps"].mean()))
    return {
        "teams_with_enough_data": len(ratios),
        "lead_time_ratio_median": round(float(np.median(ratios)), 4) if ratios else None,
        "time_to_deploy_ratio_median": round(float(np.median(ttd_ratios)), 4) if ttd_ratios else None,
        "manual_steps_delta_mean": round(float(np.mean(steps_delta)), 4) if steps_delta else None,
    }


def change_failure_rate(tables: Mapping[str, pa.Table], link_window: timedelta = timedelta(hours=24)) -> dict[str, Any]:
    """DESIGN.md §3 change failure rate over the whole period, with both incident-link rules."""
    dep = _df(tables["deployments"].select(["id", "service", "environment", "status", "finished_at"]))
    prod = dep[(dep["environment"] == "production") & dep["status"].isin(["succeeded", "rolled_back"])]
    inc = _df(tables["incidents"].select(["id", "service", "opened_at", "caused_by_deployment"]))
    linked = set(inc["caused_by_deployment"].dropna())
    loose = inc[inc["caused_by_deployment"].isna()].sort_values("opened_at")
    ok = prod[prod["status"] == "succeeded"].sort_values("finished_at")
    by_time = pd.merge_asof(
        loose,
        ok[["id", "service", "finished_at"]].rename(columns={"id": "dep_id"}),
        left_on="opened_at",
        right_on="finished_at",
        by="service",
        direction="backward",
        tolerance=pd.Timedelta(link_window),
    )
    linked |= set(by_time["dep_id"].dropna())
    failed = prod["status"].eq("rolled_back") | prod["id"].isin(linked)
    return {
        "deployments": len(prod),
        "failures": int(failed.sum()),
        "value": round(float(failed.mean()), 4),
        "incidents_linked_by_time": int(by_time["dep_id"].notna().sum()),
    }


def support_ratio_by_quarter(tables: Mapping[str, pa.Table], cal: Calendar) -> dict[str, dict[str, Any]]:
    """DESIGN.md §3 support_ratio per calendar quarter: replies by non-owners among eligible replies."""
    msg = _df(tables["support_messages"].select(["id", "ts", "author", "thread_id", "is_bot"]))
    roots = msg[msg["thread_id"].isna() | (msg["thread_id"] == msg["id"])]
    author_of = roots.set_index("id")["author"]
    replies = msg[msg["thread_id"].notna() & (msg["thread_id"] != msg["id"]) & ~msg["is_bot"]].copy()
    replies = replies[replies["author"] != replies["thread_id"].map(author_of)]
    people = _df(tables["people"].select(["id", "role"])).set_index("id")["role"]
    replies["user"] = replies["author"].map(people) != "platform_owner"
    replies["quarter"] = replies["ts"].dt.year.astype(str) + "-Q" + replies["ts"].dt.quarter.astype(str)
    out: dict[str, dict[str, Any]] = {}
    for q, g in replies.groupby("quarter"):
        out[str(q)] = {"value": round(float(g["user"].mean()), 4), "n": len(g)}
    return out


def window_availability(tables: Mapping[str, pa.Table], service: str, cal: Calendar, days: int = 28) -> float:
    """Availability of `service` over the last `days` days of the period (request-weighted)."""
    s = _df(tables["service_samples"].select(["service", "ts", "requests", "errors"]))
    s = s[(s["service"] == service) & (s["ts"] >= pd.Timestamp(cal.end - timedelta(days=days)))]
    return round(1.0 - float(s["errors"].sum()) / float(s["requests"].sum()), 6)


def saturation_share(tables: Mapping[str, pa.Table], threshold: float = 0.8) -> dict[str, float]:
    s = _df(tables["service_samples"].select(["service", "cpu_util", "memory_util"]))
    hot = s[["cpu_util", "memory_util"]].max(axis=1) >= threshold
    return {str(k): round(float(v), 4) for k, v in hot.groupby(s["service"]).mean().items()}


def feature_summary(tables: Mapping[str, pa.Table]) -> dict[str, Any]:
    feats = _df(tables["features"].select(["id", "owner"]))
    use = _df(tables["feature_usage"].select(["feature", "consumer"]))
    consumers = use.groupby("feature")["consumer"].nunique()
    reused = feats["id"].map(consumers).fillna(0) >= 2
    return {
        "features": len(feats),
        "ownership_share": round(float(feats["owner"].notna().mean()), 4),
        "reuse_share": round(float(reused.mean()), 4),
        "usages": len(use),
    }


def space_means(tables: Mapping[str, pa.Table]) -> dict[str, dict[str, float]]:
    """Mean likert5 score per survey and SPACE dimension."""
    s = _df(tables["survey_responses"].select(["survey", "scale", "dimension", "score"]))
    s = s[s["scale"] == "likert5"]
    out: dict[str, dict[str, float]] = {}
    for (survey, dim), g in s.groupby(["survey", "dimension"]):
        out.setdefault(str(survey), {})[str(dim)] = round(float(g["score"].mean()), 4)
    return out
