"""The feature store: features with owners (some missing) and the models and services that consume them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from northstar.demo._common import DAY, Calendar, build_table
from northstar.demo.delivery import Service
from northstar.demo.org import COMPONENTS, Org

__all__ = ["N_FEATURES", "FeatureStore", "simulate_features"]

N_FEATURES = 60
_ENTITIES = ("user", "item", "merchant", "session", "driver", "query", "account", "device")
_SIGNALS = ("clicks", "purchases", "views", "spend", "errors", "logins", "ratings", "refunds", "trips")
_WINDOWS = ("1h", "24h", "7d", "30d")


@dataclass(frozen=True)
class FeatureStore:
    features: pa.Table
    usage: pa.Table


def simulate_features(rng: np.random.Generator, cal: Calendar, org: Org, services: list[Service]) -> FeatureStore:
    """About 60 features, created as teams took up the feature store, and their consumers."""
    fs = next(i for i, c in enumerate(COMPONENTS) if c.id == "feature-store")
    adopt = org.adopt_day[:, fs]
    teams = np.flatnonzero(np.isfinite(adopt) & (np.arange(org.n_teams) > 0))
    names = rng.permutation([f"{e}_{s}_{w}" for e in _ENTITIES for s in _SIGNALS for w in _WINDOWS])[:N_FEATURES]

    owner_team = rng.choice(teams, N_FEATURES)
    launch = COMPONENTS[fs].launch * cal.days
    created_day = np.maximum(adopt[owner_team], launch) + rng.uniform(0, 60, N_FEATURES)
    created_day = np.minimum(created_day, cal.days - 2)
    owners: list[str | None] = []
    for t in owner_team:
        members = np.flatnonzero(org.person_team == t)
        owners.append(str(org.person_ids[int(rng.choice(members))]))
    for i in np.flatnonzero(rng.random(N_FEATURES) < 0.15):
        owners[i] = None  # nobody owns it any more
    stream = rng.random(N_FEATURES) < 0.2
    stale = rng.random(N_FEATURES) < 0.15
    lag = np.where(stream, rng.uniform(0.01, 0.1, N_FEATURES), rng.uniform(0.1, 1.5, N_FEATURES))
    lag = np.where(stale, rng.uniform(10, 60, N_FEATURES), lag)
    materialized = np.maximum(cal.days - lag, created_day + 0.1)

    features = build_table(
        "features",
        N_FEATURES,
        {
            "id": [f"feat-{i + 1:03d}" for i in range(N_FEATURES)],
            "name": names,
            "owner": owners,
            "created_at": cal.to_ts(created_day * DAY),
            "source_kind": np.where(stream, "stream", "batch"),
            "last_materialized_at": cal.to_ts(materialized * DAY),
        },
    )

    n_consumers = rng.choice([0, 1, 2, 3, 4], N_FEATURES, p=[0.15, 0.4, 0.25, 0.12, 0.08])
    f_idx = np.repeat(np.arange(N_FEATURES), n_consumers)
    svc_team = np.array([s.team for s in services])
    consumer: list[str] = []
    for f, k in zip(np.arange(N_FEATURES), n_consumers, strict=True):
        own = np.flatnonzero(svc_team == owner_team[f])
        others = np.setdiff1d(np.arange(len(services)), own)
        picks = list(own[:1]) + list(rng.choice(others, k, replace=False))
        consumer.extend(services[int(s)].name for s in picks[:k])
    since = created_day[f_idx] + rng.uniform(0, 30, len(f_idx))
    since = np.minimum(since, cal.days - 0.5)
    team_of = {s.name: org.team_ids[s.team] for s in services}
    usage = build_table(
        "feature_usage",
        len(f_idx),
        {
            "id": [f"use-{i + 1:04d}" for i in range(len(f_idx))],
            "feature": [f"feat-{f + 1:03d}" for f in f_idx],
            "consumer": consumer,
            "team": [team_of[c] for c in consumer],
            "since": cal.to_ts(since * DAY),
        },
    )
    return FeatureStore(features=features, usage=usage)
