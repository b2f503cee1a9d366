"""`generate()`: one seeded run of the whole simulated organisation, tables + config + ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from northstar.demo import truth
from northstar.demo._common import DEFAULT_LAST_DAY, Calendar
from northstar.demo.configfile import config_yaml
from northstar.demo.delivery import (
    LEAD_TIME_FACTOR,
    MANUAL_STEPS_DELTA,
    Delivery,
    incidents_table,
    simulate_delivery,
)
from northstar.demo.features import simulate_features
from northstar.demo.org import (
    COMPONENTS,
    GOLDEN_PATH,
    PLATFORM_TEAM,
    Org,
    build_org,
    components_table,
    people_table,
    simulate_activity,
    teams_table,
)
from northstar.demo.reliability import KPI_SERVICE, PROFILES, SATURATED_SERVICE, Reliability, simulate_reliability
from northstar.demo.voice import (
    NPS_PLANTED,
    SPACE_QUESTIONS,
    SPACE_STEP,
    SUPPORT_CHANNEL,
    USER_ANSWER_SHARE,
    Voice,
    simulate_voice,
)
from northstar.records import KINDS

__all__ = ["GENERATOR_VERSION", "DemoData", "generate"]

GENERATOR_VERSION = 1
ADOPTION_THRESHOLD = 0.5


@dataclass(frozen=True)
class DemoData:
    """Everything `generate` makes: one Arrow table per record kind, the config text and the ground truth."""

    seed: int
    start: date
    days: int
    tables: dict[str, pa.Table]
    config_yaml: str
    ground_truth: dict[str, Any] = field(repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.tables[kind].num_rows for kind in KINDS}


def generate(seed: int = 7, *, start: date | None = None, days: int = 365) -> DemoData:
    """Simulate `days` days of a mid-size organisation's ML platform (by default through 2026-10-31).

    Deterministic for a seed: each part of the organisation draws from its own child of one SeedSequence.
    """
    if days < 120:
        raise ValueError(f"days: the demo needs at least 120 days to show adoption curves (got {days})")
    first = start if start is not None else DEFAULT_LAST_DAY + timedelta(days=1) - timedelta(days=days)
    cal = Calendar(first, days)
    rng_org, rng_act, rng_del, rng_rel, rng_voice, rng_feat = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)
    )
    org = build_org(rng_org, cal)
    activity = simulate_activity(rng_act, cal, org)
    delivery = simulate_delivery(rng_del, cal, org, activity.golden_path_first)
    reliability = simulate_reliability(rng_rel, cal)
    voice = simulate_voice(rng_voice, cal, org)
    fstore = simulate_features(rng_feat, cal, org, delivery.services)

    parts = delivery.incidents
    parts.extend(reliability.incidents)
    tables = {
        "teams": teams_table(org, cal),
        "people": people_table(org, cal),
        "components": components_table(cal),
        "activity": activity.table,
        "changes": delivery.changes,
        "deployments": delivery.deployments,
        "incidents": incidents_table(cal, parts, delivery.team_of_service),
        "service_samples": reliability.samples,
        "survey_responses": voice.surveys,
        "support_messages": voice.support,
        "features": fstore.features,
        "feature_usage": fstore.usage,
    }
    adoption = {
        org.team_ids[t]: float(s)
        for t, s in enumerate(activity.golden_path_first)
        if t > 0 and not np.isnan(s) and org.team_ids[t] in set(delivery.team_of_service.values())
    }
    gt = _ground_truth(seed, cal, org, tables, adoption, delivery, reliability, voice)
    return DemoData(seed=seed, start=first, days=days, tables=tables, config_yaml=config_yaml(cal), ground_truth=gt)


def _team_list(org: Org, mask: Any) -> list[str]:
    return [org.team_ids[i] for i in np.flatnonzero(mask)]


def _adoption_section(org: Org, cal: Calendar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c, spec in enumerate(COMPONENTS):
        adopt, churn, back = org.adopt_day[1:, c], org.churn_day[1:, c], org.return_day[1:, c]
        ml = np.arange(1, org.n_teams)
        out[spec.id] = {
            "layer": spec.layer,
            "launched_at": cal.date_of(round(spec.launch * cal.days)).isoformat(),
            "activation_action": spec.activation,
            "teams_ever": int(np.isfinite(adopt).sum()),
            "adopted_during_period": int(((adopt >= 0) & np.isfinite(adopt)).sum()),
            "never": [org.team_ids[i] for i in ml[~np.isfinite(adopt)]],
            "churned": [org.team_ids[i] for i in ml[np.isfinite(churn) & ~np.isfinite(back)]],
            "churned_and_returned": [org.team_ids[i] for i in ml[np.isfinite(back)]],
        }
    return out


def _ground_truth(
    seed: int,
    cal: Calendar,
    org: Org,
    tables: dict[str, pa.Table],
    adoption: dict[str, float],
    delivery: Delivery,
    reliability: Reliability,
    voice: Voice,
) -> dict[str, Any]:
    shares = truth.component_shares(tables, cal)
    measured = truth.measured_layer(tables, shares["share"], ADOPTION_THRESHOLD)
    declared = max(c.layer for c in COMPONENTS)
    gp = next(c for c in COMPONENTS if c.id == GOLDEN_PATH)
    adoption_ts = {team: pd.Timestamp(cal.dt(s)) for team, s in adoption.items()}
    owning = sorted(set(delivery.team_of_service.values()))
    planted_counts: dict[str, int] = {}
    for p in delivery.incidents.planted:
        planted_counts[p] = planted_counts.get(p, 0) + 1
    kpi_value = truth.window_availability(tables, KPI_SERVICE, cal)
    return {
        "generator": {"name": "northstar.demo", "version": GENERATOR_VERSION, "seed": seed},
        "period": {
            "start": cal.start.isoformat(),
            "end": cal.end.isoformat(),
            "last_day": (cal.end - timedelta(days=1)).isoformat(),
            "days": cal.days,
        },
        "counts": {kind: tables[kind].num_rows for kind in KINDS},
        "org": {
            "teams": org.n_teams,
            "people": len(org.person_ids),
            "platform_team": PLATFORM_TEAM,
            "platform_owners": [
                p for p, r in zip(org.person_ids, org.person_role, strict=True) if r == "platform_owner"
            ],
            "teams_formed_during_period": {
                org.team_ids[t]: cal.date_of(org.team_eligible_day[t]).isoformat() for t in np.flatnonzero(org.team_new)
            },
        },
        "layers": {
            "declared": declared,
            "measured": measured,
            "claimed_vs_actual": declared > measured,
            "adoption_threshold": ADOPTION_THRESHOLD,
            "window": shares["window"],
            "active_teams": shares["active_teams"],
            "component_share": shares["share"],
            "component_layer": {c.id: c.layer for c in COMPONENTS},
        },
        "adoption": {
            "value_actions": ["deploy"],
            "activation_actions": {c.id: [c.activation] for c in COMPONENTS},
            "feature_request_action": "feature_request",
            "components": _adoption_section(org, cal),
        },
        "golden_path_effect": {
            "component": GOLDEN_PATH,
            "launched_at": cal.date_of(round(gp.launch * cal.days)).isoformat(),
            "lead_time_factor": LEAD_TIME_FACTOR,
            "time_to_deploy_factor": LEAD_TIME_FACTOR,
            "manual_steps_delta": MANUAL_STEPS_DELTA,
            "applies_to": (
                "production deployments of a treated team finished at or after its adoption (its first "
                "golden-path activity): lead time of their changes and model-ready-to-served time are multiplied "
                "by the factor, manual_steps shifted by the delta (deployment duration is unchanged)"
            ),
            "treated_teams": sorted(adoption),
            "never_treated_teams": sorted(set(owning) - set(adoption)),
            "adoption_dates": {t: cal.iso(s) for t, s in sorted(adoption.items())},
            "base_manual_steps": delivery.base_manual_steps,
            "measured": truth.golden_path_measured(tables, adoption_ts),
        },
        "delivery": {
            "services": len(delivery.services),
            "change_failure_rate": truth.change_failure_rate(tables),
            "incidents_planted": planted_counts,
        },
        "reliability": {
            "services": {p.name: {"interval_s": p.interval_s, "latency_budget": p.latency_budget} for p in PROFILES},
            "outages": [
                {
                    "service": o.service,
                    "start": cal.iso(o.start),
                    "end": cal.iso(o.end),
                    "error_rate": round(o.error_rate, 4),
                    "latency_factor": round(o.latency_factor, 3),
                    "planted_kpi_breach": o.planted_kpi_breach,
                }
                for o in reliability.outages
            ],
            "saturated_service": SATURATED_SERVICE,
            "saturation_share": truth.saturation_share(tables),
            "kpi_breach": {
                "metric": "availability",
                "service": KPI_SERVICE,
                "window_days": 28,
                "value": kpi_value,
                "breach": 0.995,
                "breached": kpi_value < 0.995,
            },
        },
        "satisfaction": {
            "nps_planted": list(NPS_PLANTED),
            "surveys": voice.survey_info,
            "space_step_per_survey": SPACE_STEP,
            "space_planted_first_survey": {dim: base for _, dim, base in SPACE_QUESTIONS},
            "space_means": truth.space_means(tables),
        },
        "support": {
            "channel": SUPPORT_CHANNEL,
            "user_answer_share": {"start": USER_ANSWER_SHARE[0], "end": USER_ANSWER_SHARE[1], "trend": "linear"},
            "support_ratio_by_quarter": truth.support_ratio_by_quarter(tables, cal),
        },
        "features": truth.feature_summary(tables),
    }
