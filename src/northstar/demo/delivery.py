"""ML product delivery: services, changes (commits and model versions), deployments and their incidents.

The planted effect: once a team has adopted the golden path (its first golden-path event), every change
it ships to production reaches production `LEAD_TIME_FACTOR` times as fast (lead time for changes and,
for model deployments, time from model ready to served), and a production deployment needs
`MANUAL_STEPS_DELTA` fewer manual steps. Teams that never adopt are the untreated comparison group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from northstar.demo._common import DAY, HOUR, MINUTE, Calendar, FloatArray, IntArray, build_table, hex_ids, lognormal
from northstar.demo.org import DOMAINS, Org

__all__ = [
    "LEAD_TIME_FACTOR",
    "MANUAL_STEPS_DELTA",
    "Delivery",
    "IncidentParts",
    "Service",
    "incidents_table",
    "services",
    "simulate_delivery",
]

LEAD_TIME_FACTOR = 0.6
MANUAL_STEPS_DELTA = -3
SEVERITIES = np.array(["sev1", "sev2", "sev3", "sev4"], dtype=object)


@dataclass(frozen=True)
class Service:
    name: str
    team: int


def services(org: Org) -> list[Service]:
    """Every ML team's services (team indices follow `org.team_ids`)."""
    return [Service(name, org.team_ids.index(f"team-{domain}")) for domain, names in DOMAINS for name in names]


@dataclass
class IncidentParts:
    """Incident rows before ids are assigned; `cause` holds a deployment id or None."""

    service: list[str] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)
    resolved: list[float] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    cause: list[str | None] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)  # explicit | time_only | unrelated | rollback | outage

    def extend(self, other: IncidentParts) -> None:
        for name in ("service", "opened", "resolved", "severity", "cause", "planted"):
            getattr(self, name).extend(getattr(other, name))


@dataclass(frozen=True)
class Delivery:
    changes: pa.Table
    deployments: pa.Table
    incidents: IncidentParts
    services: list[Service]
    team_of_service: dict[str, str]
    base_manual_steps: dict[str, int]


def _resolve(rng: np.random.Generator, cal: Calendar, opened: FloatArray, median_h: float) -> FloatArray:
    resolved = opened + lognormal(rng, median_h * HOUR, 1.0, len(opened))
    resolved[(opened > cal.seconds - 12 * HOUR) & (rng.random(len(opened)) < 0.5)] = np.nan  # still open
    return resolved


def simulate_delivery(rng: np.random.Generator, cal: Calendar, org: Org, adopted_at: FloatArray) -> Delivery:
    """Changes, deployments (production and staging) and deployment-related incidents for every service."""
    svcs = services(org)
    n_s = len(svcs)
    s_team = np.array([s.team for s in svcs], dtype=np.int64)
    n_t = org.n_teams

    # --- succeeded production deployments: a Poisson number per workday, during working hours
    rate = rng.uniform(0.15, 0.8, n_s)
    days = np.arange(cal.days)
    ready = np.nan_to_num(org.team_eligible_day, nan=-np.inf)
    live = cal.workdays()[None, :] & (days[None, :] >= np.where(org.team_new, ready, -np.inf)[s_team][:, None])
    counts = rng.poisson(rate[:, None] * live)
    dep_s = np.repeat(np.repeat(np.arange(n_s), cal.days), counts.ravel())
    dep_d = np.repeat(np.tile(days, n_s), counts.ravel())
    fin = dep_d * DAY + rng.uniform(9 * HOUR, 18 * HOUR, len(dep_s))
    n_dep = len(fin)
    team = s_team[dep_s]
    treated = fin >= np.nan_to_num(adopted_at, nan=np.inf)[team]
    speed = np.where(treated, LEAD_TIME_FACTOR, 1.0)
    is_model = rng.random(n_dep) < rng.uniform(0.2, 0.5, n_s)[dep_s]
    duration = np.clip(lognormal(rng, 12 * MINUTE, 0.5, n_dep), 2 * MINUTE, 2 * HOUR)

    # --- the changes each deployment ships
    base_code = rng.uniform(1.2, 4.5, n_t) * DAY
    base_ttd = rng.uniform(1.5, 4.0, n_t) * DAY
    n_changes = np.where(is_model, 1, 1 + rng.poisson(1.2, n_dep))
    ch_dep = np.repeat(np.arange(n_dep), n_changes)
    n_ch = len(ch_dep)
    code_lt = np.maximum(lognormal(rng, base_code[team[ch_dep]], 0.8) * speed[ch_dep], duration[ch_dep] + 5 * MINUTE)
    ttd = np.maximum(lognormal(rng, base_ttd[team], 0.6) * speed, duration + 5 * MINUTE)
    prep = lognormal(rng, 4 * HOUR, 0.5, n_dep) * speed
    model_ready = np.where(is_model, fin - ttd, np.nan)
    ch_model = is_model[ch_dep]
    created = np.where(ch_model, (fin - ttd - prep)[ch_dep], fin[ch_dep] - code_lt)
    # how far back a retry, a rollback or a staging deploy can go: after every change was ready
    window = np.where(is_model, ttd, np.inf)
    np.minimum.at(window, ch_dep, np.where(ch_model, np.inf, code_lt))

    base_steps = rng.integers(4, 8, n_t)
    steps = base_steps[team] + np.where(treated, MANUAL_STEPS_DELTA, 0) + rng.integers(-1, 2, n_dep)
    steps_missing = rng.random(n_dep) < 0.08

    # --- change ids: shas for code, MLflow-style `models:/<service>/<version>` for model versions
    svc_names = np.array([s.name for s in svcs], dtype=object)
    extra_models = rng.random(n_dep) < 0.3  # registered versions that never ship
    x_dep = np.flatnonzero(is_model & extra_models)
    x_created = fin[x_dep] - rng.uniform(0.5, 20, len(x_dep)) * DAY
    pending_s = np.repeat(np.arange(n_s), rng.poisson(1.5, n_s))
    pending_created = cal.seconds - rng.uniform(0.1, 3.0, len(pending_s)) * DAY

    code_ids = np.array(hex_ids(rng, int((~ch_model).sum()) + len(pending_s)), dtype=object)
    m_s = np.concatenate([dep_s[ch_dep[ch_model]], dep_s[x_dep]])
    m_created = np.concatenate([created[ch_model], x_created])
    order = np.lexsort((m_created, m_s))
    version = np.empty(len(m_s), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(m_s[order])) + 1]
    version[order] = np.arange(len(m_s)) - np.repeat(starts, np.diff(np.r_[starts, len(m_s)])) + 1
    model_ids = np.array([f"models:/{svc_names[s]}/{v}" for s, v in zip(m_s, version, strict=True)], dtype=object)
    ch_id = np.empty(n_ch, dtype=object)
    ch_id[ch_model] = model_ids[: int(ch_model.sum())]
    ch_id[~ch_model] = code_ids[: int((~ch_model).sum())]
    dep_model_version = np.full(n_dep, None, dtype=object)
    dep_model_version[ch_dep[ch_model]] = ch_id[ch_model]

    team_ids = np.array(org.team_ids, dtype=object)
    changes = build_table(
        "changes",
        n_ch + len(x_dep) + len(pending_s),
        {
            "id": np.concatenate([ch_id, model_ids[int(ch_model.sum()) :], code_ids[int((~ch_model).sum()) :]]),
            "service": np.concatenate([svc_names[dep_s[ch_dep]], svc_names[dep_s[x_dep]], svc_names[pending_s]]),
            "team": np.concatenate([team_ids[team[ch_dep]], team_ids[team[x_dep]], team_ids[s_team[pending_s]]]),
            "kind": np.concatenate(
                [np.where(ch_model, "model", "code"), np.full(len(x_dep), "model"), np.full(len(pending_s), "code")]
            ),
            "created_at": cal.to_ts(np.concatenate([created, x_created, pending_created])),
        },
    )
    change_lists = np.split(ch_id, np.cumsum(n_changes)[:-1])

    # --- failed attempts, rollbacks and staging deploys before some production deployments
    rows: dict[str, list[Any]] = {k: [] for k in ("src", "env", "status", "fin", "dur")}

    def add_before(mask: Any, env: str, status: str, lo: float, hi: float) -> None:
        idx = np.flatnonzero(mask)
        back = np.minimum(rng.uniform(lo, hi, len(idx)), 0.5 * window[idx])
        rows["src"].extend(idx)
        rows["env"].extend([env] * len(idx))
        rows["status"].extend([status] * len(idx))
        rows["fin"].extend(fin[idx] - back)
        rows["dur"].extend(np.minimum(duration[idx], 0.4 * back))

    add_before(rng.random(n_dep) < 0.07, "production", "failed", 0.5 * HOUR, 3 * HOUR)
    rolled_back = rng.random(n_dep) < 0.05
    add_before(rolled_back, "production", "rolled_back", 1 * HOUR, 8 * HOUR)
    staging = rng.random(n_dep) < 0.5
    add_before(staging, "staging", "succeeded", 1 * HOUR, 6 * HOUR)
    src = np.array(rows["src"], dtype=np.int64)
    staging_failed = (np.array(rows["env"]) == "staging") & (rng.random(len(src)) < 0.05)
    status_extra = np.where(staging_failed, "failed", np.array(rows["status"], dtype=object))

    all_src = np.concatenate([np.arange(n_dep), src])
    all_fin = np.concatenate([fin, np.array(rows["fin"], dtype=np.float64)])
    all_start = all_fin - np.concatenate([duration, np.array(rows["dur"], dtype=np.float64)])
    all_env = np.concatenate([np.full(n_dep, "production", dtype=object), np.array(rows["env"], dtype=object)])
    all_status = np.concatenate([np.full(n_dep, "succeeded", dtype=object), status_extra])
    order = np.argsort(all_fin, kind="stable")
    dep_ids = np.empty(len(all_fin), dtype=object)
    dep_ids[order] = [f"dep-{i + 1:06d}" for i in range(len(order))]
    prod_steps = np.where(all_env == "production", steps[all_src], -1)
    steps_mask = (prod_steps < 0) | steps_missing[all_src]
    deployments = build_table(
        "deployments",
        len(order),
        {
            "id": dep_ids[order],
            "service": svc_names[dep_s[all_src]][order],
            "team": team_ids[team[all_src]][order],
            "environment": all_env[order],
            "status": all_status[order],
            "started_at": cal.to_ts(all_start[order]),
            "finished_at": cal.to_ts(all_fin[order]),
            "change_ids": [list(change_lists[i]) for i in all_src[order]],
            "model_version": dep_model_version[all_src][order],
            "model_ready_at": cal.to_ts(model_ready[all_src][order]),
            "manual_steps": pa.array(np.maximum(prod_steps, 0)[order], mask=steps_mask[order]),
        },
    )

    incidents = _deployment_incidents(
        rng, cal, svc_names, dep_s, fin, dep_ids[:n_dep], rolled_back, src, all_fin, dep_ids, rows["status"]
    )
    return Delivery(
        changes=changes,
        deployments=deployments,
        incidents=incidents,
        services=svcs,
        team_of_service={s.name: org.team_ids[s.team] for s in svcs},
        base_manual_steps={org.team_ids[t]: int(base_steps[t]) for t in range(1, n_t)},
    )


def _deployment_incidents(
    rng: np.random.Generator,
    cal: Calendar,
    svc_names: Any,
    dep_s: IntArray,
    fin: FloatArray,
    prod_ids: Any,
    rolled_back: Any,
    extra_src: IntArray,
    all_fin: FloatArray,
    all_ids: Any,
    extra_status: list[str],
) -> IncidentParts:
    """Incidents caused by deployments (explicitly or only close in time) and unrelated ones."""
    parts = IncidentParts()
    n_dep = len(fin)

    def add(service: Any, opened: FloatArray, cause: list[str | None], planted: str, sev_p: list[float]) -> None:
        resolved = _resolve(rng, cal, opened, 1.5)
        severity = rng.choice(SEVERITIES, len(opened), p=sev_p)
        keep = np.flatnonzero(opened < cal.seconds)  # nothing after the end of the data
        parts.service.extend(str(service[i]) for i in keep)
        parts.opened.extend(float(opened[i]) for i in keep)
        parts.resolved.extend(float(resolved[i]) for i in keep)
        parts.severity.extend(str(severity[i]) for i in keep)
        parts.cause.extend(cause[i] for i in keep)
        parts.planted.extend([planted] * len(keep))

    sev = [0.05, 0.2, 0.45, 0.3]
    # rollbacks: a share open an incident that names the deployment
    rb_rows = np.flatnonzero(np.array(extra_status, dtype=object) == "rolled_back") + n_dep
    rb_pick = rb_rows[rng.random(len(rb_rows)) < 0.4]
    opened = all_fin[rb_pick] + rng.uniform(5, 60, len(rb_pick)) * MINUTE
    add(svc_names[dep_s[extra_src[rb_pick - n_dep]]], opened, list(all_ids[rb_pick]), "rollback", sev)
    # succeeded deployments that break something later: half say so, half only line up in time (< 24 h)
    bad = np.flatnonzero((rng.random(n_dep) < 0.04) & ~rolled_back)
    opened = fin[bad] + rng.uniform(15 * MINUTE, 20 * HOUR, len(bad))
    explicit = rng.random(len(bad)) < 0.5
    add(svc_names[dep_s[bad[explicit]]], opened[explicit], list(prod_ids[bad[explicit]]), "explicit", sev)
    add(svc_names[dep_s[bad[~explicit]]], opened[~explicit], [None] * int((~explicit).sum()), "time_only", sev)
    # unrelated: no succeeded production deployment of the service in the 24 h before
    by_service = [np.sort(fin[dep_s == s]) for s in range(len(svc_names))]
    services: list[str] = []
    times: list[float] = []
    while len(times) < 30:
        s = int(rng.integers(len(svc_names)))
        t = float(rng.uniform(0, cal.seconds - DAY))
        f = by_service[s]
        i = np.searchsorted(f, t, side="right")
        if i == 0 or t - f[i - 1] > DAY + HOUR:
            services.append(str(svc_names[s]))
            times.append(t)
    add(services, np.array(times), [None] * len(times), "unrelated", sev)
    return parts


def incidents_table(cal: Calendar, parts: IncidentParts, team_of_service: dict[str, str]) -> pa.Table:
    """Every incident, ids in order of opening."""
    opened = np.array(parts.opened, dtype=np.float64)
    order = np.argsort(opened, kind="stable")
    service = np.array(parts.service, dtype=object)[order]
    return build_table(
        "incidents",
        len(order),
        {
            "id": [f"inc-{i + 1:04d}" for i in range(len(order))],
            "service": service,
            "team": [team_of_service.get(str(s)) for s in service],
            "severity": np.array(parts.severity, dtype=object)[order],
            "opened_at": cal.to_ts(opened[order]),
            "resolved_at": cal.to_ts(np.array(parts.resolved, dtype=np.float64)[order]),
            "caused_by_deployment": np.array(parts.cause, dtype=object)[order],
        },
    )
