"""Generate a year of platform telemetry for the scorecard benchmark: numpy, vectorised, seeded.

`generate(events, seed, out)` writes one Parquet file per record kind under `out/`, each with exactly
`northstar.schema.arrow_schema(kind)`, plus `meta.json` (window, row counts, the services that emit samples).
The year is the 52 ISO weeks from Monday 2024-01-01, so every week of the scorecard is whole.

The org grows with the telemetry, sub-linearly: people = 2000·√(events / 1M), one team per ~20 people, 1.5
services per team. Everything else is proportionate to the activity events: changes N/50, deployments
N/100, incidents N/2000, support messages ~N/1500, service samples ~N/10 (hourly samples with a
10-bucket latency histogram from N/10 ÷ 8736 services). Activity is produced week by week (one Parquet row
group per week, in time order), so 100M events never sit in memory at once.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from northstar.schema import arrow_schema

__all__ = ["END", "START", "WEEKS", "generate"]

START = datetime(2024, 1, 1)  # a Monday: ISO week 1 of 2024
WEEKS = 52
END = START + timedelta(weeks=WEEKS)
DAY = 86_400
HOUR = 3_600
YEAR_S = WEEKS * 7 * DAY
_EPOCH_US = int((START - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
LE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)  # + the +Inf bucket
SAMPLE_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class ComponentSpec:
    id: str
    layer: int
    category: str
    popularity: float
    actions: tuple[tuple[str, float], ...]  # the first is the activation action
    launched_day: int


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("gpu-pool", 0, "compute", 0.5, (("reserve_quota", 0.02), ("allocate", 0.6), ("release", 0.38)), -400),
    ComponentSpec("object-store", 0, "storage", 0.6, (("create_bucket", 0.01), ("put", 0.5), ("get", 0.49)), -700),
    ComponentSpec("k8s", 1, "compute", 0.8, (("first_job", 0.03), ("submit_job", 0.6), ("get_logs", 0.37)), -500),
    ComponentSpec("ray", 1, "compute", 0.3, (("first_cluster", 0.03), ("run_task", 0.8), ("scale", 0.17)), -100),
    ComponentSpec(
        "model-server", 2, "serving", 0.5, (("first_endpoint", 0.03), ("predict", 0.8), ("deploy", 0.17)), -200
    ),
    ComponentSpec("redis-online", 2, "storage", 0.2, (("connect", 0.05), ("get", 0.6), ("set", 0.35)), -300),
    ComponentSpec(
        "mlflow", 3, "tracking", 1.0, (("register_model", 0.05), ("log_run", 0.55), ("log_metric", 0.4)), -600
    ),
    ComponentSpec(
        "feast", 3, "feature_store", 0.35, (("apply", 0.04), ("get_features", 0.8), ("materialize", 0.16)), 30
    ),
    ComponentSpec("wandb", 3, "tracking", 0.25, (("create_sweep", 0.04), ("log_run", 0.96)), -50),
    ComponentSpec(
        "notebooks", 3, "workflow", 0.7, (("schedule_notebook", 0.02), ("open", 0.5), ("run_cell", 0.48)), -365
    ),
    ComponentSpec(
        "golden-path", 4, "orchestration", 0.6, (("first_pipeline", 0.04), ("run_pipeline", 0.9), ("deploy", 0.06)), 20
    ),
    ComponentSpec("templates", 4, "templates", 0.15, (("create_project", 0.3), ("update_project", 0.7)), 60),
)
FEATURE_REQUEST_SHARE = 0.003


def _us(seconds: np.ndarray) -> pa.Array:
    """Seconds since START (float) → a timestamp[us] array."""
    return pa.array(_EPOCH_US + np.round(seconds * 1e6).astype(np.int64), type=pa.timestamp("us"))


def _dates(days: np.ndarray) -> pa.Array:
    """Day offsets from START (float, NaN = null) → a date32 array."""
    start_days = (START - datetime(1970, 1, 1)).days
    mask = np.isnan(days)
    vals = np.where(mask, 0, np.floor(np.nan_to_num(days)) + start_days).astype(np.int32)
    return pa.array(vals, type=pa.date32(), mask=mask)


def _ids(prefix: str, start: int, n: int) -> pa.Array:
    """`prefix` + running number, as a string array (vectorised in Arrow)."""
    nums = pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, nums, "")


def _strings(values: Sequence[str | None], idx: np.ndarray) -> pa.Array:
    """values[idx] as a string array (a take from a small dictionary)."""
    return pc.take(pa.array(list(values), type=pa.string()), pa.array(idx))


def _table(kind: str, cols: dict[str, Any], n: int) -> pa.Table:
    schema = arrow_schema(kind)
    arrays = []
    for f in schema:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, type=f.type))
        elif isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v.cast(f.type))
        else:
            arrays.append(pa.array(v, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write(out: Path, kind: str, table: pa.Table) -> int:
    pq.write_table(table, out / f"{kind}.parquet", row_group_size=1 << 20)
    return table.num_rows


# -- the organisation ----------------------------------------------------------------------------------


@dataclass
class Org:
    team_ids: list[str]
    team_start: np.ndarray  # day the team starts using the platform
    person_ids: list[str]
    person_team: np.ndarray
    person_joined: np.ndarray  # day offset of joined_at
    spell_person: np.ndarray  # activity spells: a person is active in [spell_start, spell_end) (seconds)
    spell_start: np.ndarray
    spell_end: np.ndarray
    spell_weight: np.ndarray  # events per second while active (relative)
    comp_day: np.ndarray  # (teams, components): day the team adopts the component (inf = never)
    service_ids: list[str]
    service_team: np.ndarray
    service_start: np.ndarray  # seconds


def _org(rng: np.random.Generator, events: int, out: Path) -> tuple[Org, dict[str, int]]:
    n_people = max(60, round(2000 * math.sqrt(events / 1e6)))
    n_teams = max(6, n_people // 20)
    team_ids = [f"team-{i:03d}" for i in range(n_teams)]
    sizes = rng.dirichlet(np.full(n_teams, 3.0))
    person_team = np.concatenate([np.arange(n_teams), rng.choice(n_teams, n_people - n_teams, p=sizes)])
    person_team.sort()
    headcount = np.bincount(person_team, minlength=n_teams)

    # team 0 is the platform team (there from the start); a quarter of the others were there before the year
    team_start = rng.uniform(0, 300, n_teams) ** 1.0
    team_start[rng.random(n_teams) < 0.25] = 0.0
    team_start[0] = 0.0
    roll = rng.random(n_teams)
    eligible = np.where(roll < 0.75, team_start - rng.uniform(0, 30, n_teams), np.nan)
    eligible = np.where((roll >= 0.75) & (roll < 0.85), team_start + 60, eligible)  # active before eligible
    teams = _table(
        "teams",
        {
            "id": team_ids,
            "name": [f"Team {i}" for i in range(n_teams)],
            "headcount": headcount.astype(np.int64),
            "eligible_from": _dates(eligible),
        },
        n_teams,
    )

    person_ids = [f"u{i:05d}" for i in range(n_people)]
    role = np.where(person_team == 0, 1, np.where(rng.random(n_people) < 0.05, 2, 0))
    p_start_day = team_start[person_team] + rng.exponential(15, n_people)
    late = rng.random(n_people) < 0.1  # people who join the company during the year
    p_start_day[late] += rng.uniform(0, 200, late.sum())
    p_start_day = np.minimum(p_start_day, WEEKS * 7 - 3)
    joined = np.floor(p_start_day - rng.uniform(0, 100, n_people))
    people = _table(
        "people",
        {
            "id": person_ids,
            "team": _strings(team_ids, person_team),
            "role": _strings(["practitioner", "platform_owner", "other"], role),
            "joined_at": _dates(joined),
        },
        n_people,
    )

    # activity spells: most people stay; some leave; some take a break and come back
    start_s = p_start_day * DAY
    end_s = np.full(n_people, float(YEAR_S))
    roll = rng.random(n_people)
    leave = roll < 0.15
    end_s[leave] = start_s[leave] + rng.uniform(0.1, 1.0, leave.sum()) * (YEAR_S - start_s[leave])
    brk = (roll >= 0.15) & (roll < 0.27)
    b_at = start_s + rng.uniform(0.2, 0.7, n_people) * (YEAR_S - start_s)
    b_len = rng.uniform(14, 60, n_people) * DAY
    spell_person = np.concatenate([np.arange(n_people), np.flatnonzero(brk)])
    spell_start = np.concatenate([start_s, (b_at + b_len)[brk]])
    spell_end = np.concatenate([np.where(brk, b_at, end_s), np.full(brk.sum(), float(YEAR_S))])
    keep = spell_end - spell_start > HOUR
    spell_person, spell_start, spell_end = spell_person[keep], spell_start[keep], spell_end[keep]
    intensity = rng.lognormal(0, 1.0, n_people)
    spell_weight = intensity[spell_person]

    n_comp = len(COMPONENTS)
    pop = np.array([c.popularity for c in COMPONENTS])
    launched = np.array([c.launched_day for c in COMPONENTS], dtype=np.float64)
    adopt = rng.random((n_teams, n_comp)) < pop
    comp_day = np.maximum(team_start[:, None] + rng.exponential(40, (n_teams, n_comp)), launched)
    comp_day[~adopt] = np.inf
    early = np.where(launched <= 0, pop, 0.0)  # a team starts on a component that already exists
    first = rng.choice(n_comp, n_teams, p=early / early.sum())
    comp_day[np.arange(n_teams), first] = team_start
    comp_day[0, :] = np.maximum(0, launched)  # the platform team uses everything it runs

    components = _table(
        "components",
        {
            "id": [c.id for c in COMPONENTS],
            "name": [c.id.replace("-", " ").title() for c in COMPONENTS],
            "layer": [c.layer for c in COMPONENTS],
            "category": [c.category for c in COMPONENTS],
            "launched_at": _dates(launched),
            "activation_actions": [[c.actions[0][0]] for c in COMPONENTS],
        },
        n_comp,
    )

    n_services = max(4, round(n_teams * 1.5))
    service_team = np.concatenate([np.arange(n_teams), rng.integers(1, n_teams, n_services - n_teams)])
    service_ids = [f"svc-{i:04d}" for i in range(n_services)]
    service_start = team_start[service_team] * DAY + rng.exponential(20, n_services) * DAY
    service_start = np.minimum(service_start, YEAR_S - 30 * DAY)

    counts = {
        "teams": _write(out, "teams", teams),
        "people": _write(out, "people", people),
        "components": _write(out, "components", components),
    }
    org = Org(
        team_ids,
        team_start,
        person_ids,
        person_team,
        joined,
        spell_person,
        spell_start,
        spell_end,
        spell_weight,
        comp_day,
        service_ids,
        service_team,
        service_start,
    )
    return org, counts


# -- activity ------------------------------------------------------------------------------------------


def _activity_weeks(rng: np.random.Generator, org: Org, events: int) -> Iterator[pa.Table]:
    """The activity stream, one week at a time, in time order."""
    ws = np.arange(WEEKS) * 7.0 * DAY
    overlap = np.clip(
        np.minimum(org.spell_end[None, :], ws[:, None] + 7 * DAY) - np.maximum(org.spell_start[None, :], ws[:, None]),
        0,
        None,
    )  # (weeks, spells)
    weight = overlap * org.spell_weight[None, :]
    per_week = rng.multinomial(events, weight.sum(axis=1) / weight.sum())

    n_comp = len(COMPONENTS)
    pop = np.array([c.popularity for c in COMPONENTS])
    max_a = max(len(c.actions) for c in COMPONENTS)
    action_names = sorted({a for c in COMPONENTS for a, _ in c.actions} | {"feature_request"})
    a_index = {a: i for i, a in enumerate(action_names)}
    a_cum = np.ones((n_comp, max_a))
    a_code = np.zeros((n_comp, max_a), dtype=np.int64)
    for ci, c in enumerate(COMPONENTS):
        w = np.array([x for _, x in c.actions])
        a_cum[ci, : len(w)] = np.cumsum(w) / w.sum()
        a_code[ci, : len(w)] = [a_index[a] for a, _ in c.actions]
        a_code[ci, len(w) :] = a_code[ci, len(w) - 1]
    props = ['{"client":"cli"}', '{"client":"sdk"}', '{"client":"ui"}', None, None, None]
    comp_ids = [c.id for c in COMPONENTS]
    team_or_null = [*org.team_ids, None]

    next_id = 0
    for w in range(WEEKS):
        n = int(per_week[w])
        if n == 0:
            continue
        spells = np.repeat(np.arange(len(org.spell_person)), rng.multinomial(n, weight[w] / weight[w].sum()))
        lo = np.maximum(org.spell_start[spells], ws[w])
        ts = lo + rng.random(n) * overlap[w, spells]
        order = np.argsort(ts, kind="stable")
        ts, spells = ts[order], spells[order]
        person = org.spell_person[spells]
        team = org.person_team[person]

        # component: among those the team has adopted by then (always at least its first one)
        allowed = org.comp_day[team] <= (ts / DAY)[:, None]
        cw = np.cumsum(allowed * pop[None, :], axis=1)
        cw /= cw[:, -1:]
        comp = np.minimum((cw < rng.random(n)[:, None]).sum(axis=1), n_comp - 1)
        act_slot = np.minimum((a_cum[comp] < rng.random(n)[:, None]).sum(axis=1), max_a - 1)
        action = a_code[comp, act_slot]
        action[rng.random(n) < FEATURE_REQUEST_SHARE] = a_index["feature_request"]
        # 5% of sources do not send the team: northstar resolves it from `people`
        team_col = np.where(rng.random(n) < 0.05, len(org.team_ids), team)

        yield _table(
            "activity",
            {
                "id": _ids("e", next_id, n),
                "ts": _us(ts),
                "actor": _strings(org.person_ids, person),
                "team": _strings(team_or_null, team_col),
                "component": _strings(comp_ids, comp),
                "action": _strings(action_names, action),
                "properties": _strings(props, rng.integers(0, len(props), n)),
            },
            n,
        )
        next_id += n


# -- delivery: changes, deployments, incidents ------------------------------------------------------------


def _delivery(rng: np.random.Generator, org: Org, events: int, out: Path) -> dict[str, int]:
    n_svc = len(org.service_ids)
    svc_w = rng.lognormal(0, 0.8, n_svc)
    n_dep = max(20, events // 100)
    dep_svc = rng.choice(n_svc, n_dep, p=svc_w / svc_w.sum())
    fin = org.service_start[dep_svc] + rng.random(n_dep) * (YEAR_S - org.service_start[dep_svc])
    order = np.lexsort((fin, dep_svc))  # deployments sorted by (service, finished_at): ids follow this order
    dep_svc, fin = dep_svc[order], fin[order]
    env = np.where(rng.random(n_dep) < 0.85, 0, 1)  # production, staging
    roll = rng.random(n_dep)
    status = np.where(roll < 0.88, 0, np.where(roll < 0.95, 1, 2))  # succeeded, failed, rolled_back
    duration = rng.lognormal(math.log(600), 0.7, n_dep)
    started = fin - duration
    no_start = rng.random(n_dep) < 0.05
    has_model = rng.random(n_dep) < 0.6
    ready = fin - rng.lognormal(math.log(DAY), 1.2, n_dep)
    manual = rng.poisson(2.0, n_dep).astype(np.float64)
    manual[rng.random(n_dep) < 0.3] = np.nan

    # changes: each is shipped by the next deployment of its service after it was created (sometimes the
    # one after that too); a few have created_at after their deployment (clock skew → negative lead time)
    n_chg = max(40, events // 50)
    chg_svc = rng.choice(n_svc, n_chg, p=svc_w / svc_w.sum())
    created = org.service_start[chg_svc] + rng.random(n_chg) * (YEAR_S - org.service_start[chg_svc])
    key_dep = dep_svc.astype(np.float64) * 1e9 + fin
    first = np.searchsorted(key_dep, chg_svc.astype(np.float64) * 1e9 + created, side="right")
    svc_end = np.searchsorted(dep_svc, chg_svc, side="right")
    shipped = first < svc_end
    second = shipped & (first + 1 < svc_end) & (rng.random(n_chg) < 0.3)
    skew = shipped & (rng.random(n_chg) < 0.002)
    created[skew] = fin[first[skew]] + rng.uniform(60, 3 * HOUR, skew.sum())
    pair_dep = np.concatenate([first[shipped], first[second] + 1])
    pair_chg = np.concatenate([np.flatnonzero(shipped), np.flatnonzero(second)])
    o = np.lexsort((pair_chg, pair_dep))
    pair_dep, pair_chg = pair_dep[o], pair_chg[o]
    offsets = np.searchsorted(pair_dep, np.arange(n_dep + 1)).astype(np.int32)
    has_changes = np.diff(offsets) > 0
    change_ids = pa.ListArray.from_arrays(
        pa.array(offsets), _ids("c", 0, n_chg).take(pa.array(pair_chg)), mask=pa.array(~has_changes)
    )
    team_ids = org.team_ids
    changes = _table(
        "changes",
        {
            "id": _ids("c", 0, n_chg),
            "service": _strings(org.service_ids, chg_svc),
            "team": _strings(team_ids, org.service_team[chg_svc]),
            "kind": _strings(["code", "model", "data", "config"], rng.choice(4, n_chg, p=[0.6, 0.25, 0.1, 0.05])),
            "created_at": _us(created),
        },
        n_chg,
    )
    deployments = _table(
        "deployments",
        {
            "id": _ids("d", 0, n_dep),
            "service": _strings(org.service_ids, dep_svc),
            "team": _strings(team_ids, org.service_team[dep_svc]),
            "environment": _strings(["production", "staging"], env),
            "status": _strings(["succeeded", "failed", "rolled_back"], status),
            "started_at": pa.array(_us(started).to_numpy(zero_copy_only=False), mask=no_start),
            "finished_at": _us(fin),
            "change_ids": change_ids,
            "model_version": pa.array(np.char.add("v", np.arange(n_dep).astype(str)).astype(object), mask=~has_model),
            "model_ready_at": pa.array(_us(ready).to_numpy(zero_copy_only=False), mask=~has_model),
            "manual_steps": pa.array(np.nan_to_num(manual).astype(np.int64), mask=np.isnan(manual)),
        },
        n_dep,
    )

    # incidents: half name the deployment that caused them, a third follow a deployment without saying so
    # (some inside the 24 h link window, some outside), the rest come from nowhere
    n_inc = max(10, events // 2000)
    prod_ok = np.flatnonzero((env == 0) & (status != 1))
    roll = rng.random(n_inc)
    cause = rng.choice(prod_ok, n_inc)
    opened = np.where(
        roll < 0.5,
        fin[cause] + rng.exponential(2 * HOUR, n_inc),
        fin[cause] + rng.uniform(0, 36 * HOUR, n_inc),
    )
    inc_svc = dep_svc[cause].copy()
    lone = roll >= 0.8
    inc_svc[lone] = rng.integers(0, n_svc, lone.sum())
    opened[lone] = org.service_start[inc_svc[lone]] + rng.random(lone.sum()) * (
        YEAR_S - org.service_start[inc_svc[lone]]
    )
    opened = np.minimum(opened, YEAR_S - 1)
    resolved = opened + rng.lognormal(math.log(2 * HOUR), 1.3, n_inc)
    unresolved = (rng.random(n_inc) < 0.03) | (resolved >= YEAR_S)
    explicit = roll < 0.5
    incidents = _table(
        "incidents",
        {
            "id": _ids("i", 0, n_inc),
            "service": _strings(org.service_ids, inc_svc),
            "team": _strings(team_ids, org.service_team[inc_svc]),
            "severity": _strings(["sev1", "sev2", "sev3", "sev4"], rng.choice(4, n_inc, p=[0.05, 0.2, 0.45, 0.3])),
            "opened_at": _us(opened),
            "resolved_at": pa.array(_us(resolved).to_numpy(zero_copy_only=False), mask=unresolved),
            "caused_by_deployment": pa.array(
                pc.binary_join_element_wise("d", pc.cast(pa.array(cause), pa.string()), "").to_numpy(
                    zero_copy_only=False
                ),
                mask=~explicit,
            ),
        },
        n_inc,
    )
    return {
        "changes": _write(out, "changes", changes),
        "deployments": _write(out, "deployments", deployments),
        "incidents": _write(out, "incidents", incidents),
    }


# -- reliability: service samples ------------------------------------------------------------------------


def _samples(rng: np.random.Generator, org: Org, events: int, out: Path) -> tuple[dict[str, int], list[str]]:
    per_service = int(YEAR_S / SAMPLE_INTERVAL_S)
    n_sampled = min(len(org.service_ids), max(2, round(events / 10 / per_service)))
    sampled = [org.service_ids[i] for i in range(n_sampled)]
    writer = pq.ParquetWriter(out / "service_samples.parquet", arrow_schema("service_samples"))
    n_total = 0
    rate = rng.lognormal(math.log(20), 1.0, n_sampled)
    err_base = rng.lognormal(math.log(0.001), 0.8, n_sampled)
    lat_med = rng.lognormal(math.log(0.06), 0.6, n_sampled)
    lat_sig = rng.uniform(0.5, 1.0, n_sampled)
    t = np.arange(per_service) * SAMPLE_INTERVAL_S
    diurnal = 1 + 0.6 * np.sin(2 * np.pi * (t % DAY) / DAY)
    le_log = np.log(np.array(LE))
    for s in range(n_sampled):
        keep = rng.random(per_service) >= 0.01  # a few scrapes are missing
        ts = t[keep]
        n = len(ts)
        req = rng.poisson(rate[s] * SAMPLE_INTERVAL_S * diurnal[keep]).astype(np.float64)
        burst = rng.random(n) < 0.01
        p_err = np.minimum(np.where(burst, err_base[s] * rng.uniform(20, 200, n), err_base[s]), 1.0)
        err = rng.binomial(req.astype(np.int64), p_err).astype(np.float64)
        med = np.where(burst, lat_med[s] * 3, lat_med[s])
        z = (le_log[None, :] - np.log(med)[:, None]) / lat_sig[s]
        cdf = 1.0 / (1.0 + np.exp(-1.702 * z))  # logistic approximation of the normal CDF: monotone is enough
        cum = np.floor(req[:, None] * cdf)
        parts: list[Any] = ["{"]
        for i, le in enumerate(LE):
            parts += [f'"{le:g}":', pc.cast(pa.array(cum[:, i].astype(np.int64)), pa.string()), ","]
        parts += ['"+Inf":', pc.cast(pa.array(req.astype(np.int64)), pa.string()), "}"]
        buckets = pc.binary_join_element_wise(*parts, "")
        no_hist = rng.random(n) < 0.02
        cpu = np.clip(rng.beta(2, 5, n) + np.where(burst, 0.4, 0), 0, 1)
        mem = np.clip(rng.beta(5, 4, n), 0, 1)
        table = _table(
            "service_samples",
            {
                "id": _ids(f"s{s}-", 0, n),
                "service": pa.array([sampled[s]] * n),
                "ts": _us(ts),
                "interval_s": np.full(n, SAMPLE_INTERVAL_S),
                "requests": req,
                "errors": err,
                "latency_buckets": pa.array(buckets.to_numpy(zero_copy_only=False), mask=no_hist),
                "cpu_util": pa.array(cpu, mask=rng.random(n) < 0.01),
                "memory_util": pa.array(mem, mask=rng.random(n) < 0.01),
            },
            n,
        )
        writer.write_table(table)
        n_total += n
    writer.close()
    return {"service_samples": n_total}, sampled


# -- satisfaction, support, feature store -----------------------------------------------------------------


def _people_kinds(rng: np.random.Generator, org: Org, events: int, out: Path) -> dict[str, int]:
    n_people = len(org.person_ids)
    # quarterly surveys, answered by ~40% of people within two weeks, three questions each
    resp_p, resp_q = [], []
    for q in range(4):
        # people who had joined by the survey's start
        who = np.flatnonzero((rng.random(n_people) < 0.4) & (org.person_joined <= q * 13 * 7 + 14))
        resp_p.append(who)
        resp_q.append(np.full(len(who), q))
    rp, rq = np.concatenate(resp_p), np.concatenate(resp_q)
    rts = rq * 13 * 7 * DAY + 14 * DAY + rng.random(len(rp)) * 14 * DAY
    n_r = len(rp)
    nps = rng.choice(11, n_r, p=np.array([1, 1, 1, 1, 2, 3, 5, 10, 14, 16, 12]) / 66)
    l5 = rng.choice(5, n_r, p=[0.05, 0.1, 0.25, 0.4, 0.2]) + 1
    l7 = rng.choice(7, n_r, p=[0.03, 0.05, 0.1, 0.2, 0.27, 0.25, 0.1]) + 1
    rp3, rts3 = np.tile(rp, 3), np.tile(rts, 3) + np.repeat([0, 30, 60], n_r)
    q3 = np.repeat([0, 1, 2], n_r)
    no_team = rng.random(3 * n_r) < 0.02
    survey = _table(
        "survey_responses",
        {
            "id": _ids("r", 0, 3 * n_r),
            "ts": _us(rts3),
            "survey": _strings(["dx-2024-q1", "dx-2024-q2", "dx-2024-q3", "dx-2024-q4"], np.tile(rq, 3)),
            "question": _strings(["recommend", "satisfied", "efficient"], q3),
            "score": np.concatenate([nps, l5, l7]).astype(np.float64),
            "scale": _strings(["nps", "likert5", "likert7"], q3),
            "respondent": _strings(org.person_ids, rp3),
            "team": pa.array(_strings(org.team_ids, org.person_team[rp3]).to_numpy(zero_copy_only=False), mask=no_team),
            "dimension": _strings([None, "satisfaction", "efficiency"], q3),
        },
        3 * n_r,
    )

    # support threads: a root and 0–5 replies, by users, platform owners, bots and the asker themselves
    n_thr = max(20, events // 5000)
    root_ts = rng.random(n_thr) * (YEAR_S - 2 * DAY)
    root_author = rng.integers(0, n_people, n_thr)
    n_rep = rng.choice(6, n_thr, p=[0.15, 0.3, 0.25, 0.15, 0.1, 0.05])
    rep_thr = np.repeat(np.arange(n_thr), n_rep)
    n_m = n_thr + len(rep_thr)
    rep_ts = root_ts[rep_thr] + rng.exponential(3 * HOUR, len(rep_thr))
    rep_author = rng.integers(0, n_people, len(rep_thr))
    owners = np.flatnonzero(org.person_team == 0)
    who = rng.random(len(rep_thr))
    rep_author = np.where(who < 0.3, rng.choice(owners, len(rep_thr)), rep_author)
    rep_author = np.where((who >= 0.3) & (who < 0.45), root_author[rep_thr], rep_author)
    bot = (who >= 0.45) & (who < 0.55)
    author_names = [*org.person_ids, "platform-bot"]
    rep_author = np.where(bot, n_people, rep_author)
    root_ids = _ids("m", 0, n_thr)
    root_thread = pa.array(root_ids.to_numpy(zero_copy_only=False), mask=rng.random(n_thr) < 0.5)
    support = _table(
        "support_messages",
        {
            "id": pa.concat_arrays([root_ids, _ids("m", n_thr, len(rep_thr))]),
            "ts": _us(np.concatenate([root_ts, rep_ts])),
            "channel": pa.array(["#ml-platform-help"] * n_m),
            "author": _strings(author_names, np.concatenate([root_author, rep_author])),
            "thread_id": pa.concat_arrays([root_thread, root_ids.take(pa.array(rep_thr))]),
            "is_bot": np.concatenate([np.zeros(n_thr, bool), bot]),
        },
        n_m,
    )

    # feature store: features with and without owners, batch and stream, reused or not
    n_f = max(20, round(400 * math.sqrt(events / 1e6)))
    f_created = rng.random(n_f) * (YEAR_S - 7 * DAY) - rng.random(n_f) * 120 * DAY
    mat = f_created + rng.random(n_f) * (YEAR_S - f_created)
    no_mat = rng.random(n_f) < 0.1
    features = _table(
        "features",
        {
            "id": _ids("f", 0, n_f),
            "name": _ids("feature_", 0, n_f),
            "owner": pa.array(
                _strings(org.team_ids, rng.integers(0, len(org.team_ids), n_f)).to_numpy(zero_copy_only=False),
                mask=rng.random(n_f) < 0.2,
            ),
            "created_at": _us(f_created),
            "source_kind": _strings(["batch", "stream"], (rng.random(n_f) < 0.3).astype(np.int64)),
            "last_materialized_at": pa.array(_us(mat).to_numpy(zero_copy_only=False), mask=no_mat),
        },
        n_f,
    )
    n_use = rng.choice(5, n_f, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    u_f = np.repeat(np.arange(n_f), n_use)
    consumer = rng.integers(0, max(8, len(org.service_ids) // 2), len(u_f))
    u_since = np.maximum(f_created[u_f], 0) + rng.random(len(u_f)) * 60 * DAY
    usage = _table(
        "feature_usage",
        {
            "id": _ids("fu", 0, len(u_f)),
            "feature": _ids("f", 0, n_f).take(pa.array(u_f)),
            "consumer": _strings(org.service_ids, consumer),
            "team": _strings(org.team_ids, org.service_team[consumer]),
            "since": _us(u_since),
        },
        len(u_f),
    )
    return {
        "survey_responses": _write(out, "survey_responses", survey),
        "support_messages": _write(out, "support_messages", support),
        "features": _write(out, "features", features),
        "feature_usage": _write(out, "feature_usage", usage),
    }


# -- entry point -------------------------------------------------------------------------------------------


def generate(events: int, seed: int, out: Path) -> dict[str, Any]:
    """Write the dataset for `events` activity events to `out/` and return its metadata (also in meta.json)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    org, counts = _org(rng, events, out)
    writer = pq.ParquetWriter(out / "activity.parquet", arrow_schema("activity"))
    n_act = 0
    for week in _activity_weeks(rng, org, events):
        writer.write_table(week)
        n_act += week.num_rows
    writer.close()
    counts["activity"] = n_act
    counts.update(_delivery(rng, org, events, out))
    sample_counts, sampled = _samples(rng, org, events, out)
    counts.update(sample_counts)
    counts.update(_people_kinds(rng, org, events, out))
    meta = {
        "events": events,
        "seed": seed,
        "since": START.isoformat(),
        "until": END.isoformat(),
        "rows": counts,
        "sampled_services": sampled,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return meta


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data" / "manual")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    meta = generate(args.events, args.seed, args.out)
    print(json.dumps(meta["rows"]), f"in {time.perf_counter() - t0:.1f} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
