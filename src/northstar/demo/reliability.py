"""ML infrastructure reliability: service samples (traffic, errors, latency histograms, utilisation).

Each watched service gets one sample every 5–15 minutes over the whole period: diurnal and weekly traffic
with slow growth, a small background error rate, a log-normal latency summarised as a Prometheus-style
cumulative histogram, and CPU / memory utilisation. A few outage windows per service (errors and latency
up) each open an incident; one outage is planted in the last 28 days of `KPI_SERVICE` so that its
availability KPI is breached. `SATURATED_SERVICE` runs hot most of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from northstar.demo._common import DAY, HOUR, MINUTE, Calendar, FloatArray, build_table, seq_ids
from northstar.demo.delivery import IncidentParts

__all__ = [
    "BOUNDS",
    "KPI_SERVICE",
    "PROFILES",
    "SATURATED_SERVICE",
    "Outage",
    "Profile",
    "Reliability",
    "simulate_reliability",
]

BOUNDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KPI_SERVICE = "fraud-scorer"
SATURATED_SERVICE = "image-embedder"


@dataclass(frozen=True)
class Profile:
    """How one watched service behaves."""

    name: str
    interval_s: int
    peak_rps: float
    latency_median_s: float
    latency_sigma: float
    base_error: float
    cpu_base: float
    cpu_amp: float
    latency_budget: str
    latency_budget_s: float


PROFILES: tuple[Profile, ...] = (
    Profile("search-ranker", 300, 400.0, 0.045, 0.55, 0.0003, 0.25, 0.35, "250ms", 0.25),
    Profile("fraud-scorer", 600, 120.0, 0.025, 0.5, 0.0004, 0.2, 0.3, "100ms", 0.1),
    Profile("recs-api", 600, 250.0, 0.08, 0.6, 0.0008, 0.3, 0.3, "500ms", 0.5),
    Profile("image-embedder", 900, 60.0, 0.18, 0.5, 0.001, 0.63, 0.36, "1s", 1.0),
    Profile("price-optimizer", 900, 30.0, 0.12, 0.6, 0.0005, 0.2, 0.3, "500ms", 0.5),
    Profile("ads-ctr-model", 900, 600.0, 0.015, 0.5, 0.0002, 0.3, 0.35, "50ms", 0.05),
    Profile("llm-gateway", 900, 25.0, 1.2, 0.7, 0.002, 0.35, 0.35, "5s", 5.0),
    Profile("eta-predictor", 900, 150.0, 0.04, 0.5, 0.0005, 0.2, 0.3, "250ms", 0.25),
)


@dataclass(frozen=True)
class Outage:
    service: str
    start: float  # seconds since the period start
    end: float
    error_rate: float
    latency_factor: float
    planted_kpi_breach: bool


@dataclass(frozen=True)
class Reliability:
    samples: pa.Table
    incidents: IncidentParts
    outages: list[Outage]


def _erf(x: FloatArray) -> FloatArray:
    """Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7): numpy has no erf and scipy is not a dependency."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float64)


def _outages(rng: np.random.Generator, cal: Calendar, p: Profile) -> list[Outage]:
    """Three to five outages spread over the period (never in its last 30 days), plus the planted one."""
    k = int(rng.integers(3, 6))
    edges = np.linspace(DAY, cal.seconds - 30 * DAY, k + 1)
    out = []
    for i in range(k):
        dur = float(rng.uniform(20 * MINUTE, 3 * HOUR))
        start = float(rng.uniform(edges[i], edges[i + 1] - dur))
        start -= start % p.interval_s
        out.append(Outage(p.name, start, start + dur, float(rng.uniform(0.05, 0.6)), float(rng.uniform(3, 8)), False))
    if p.name == KPI_SERVICE:
        start = cal.seconds - 9 * DAY + 13 * HOUR
        out.append(Outage(p.name, start, start + 6 * HOUR, 0.45, 6.0, True))
    return out


def _histogram_json(counts: np.ndarray[Any, Any], total: np.ndarray[Any, Any]) -> pa.Array:
    """Cumulative bucket counts → `{"0.005":n,…,"+Inf":n}` JSON text, built column-wise in Arrow."""
    parts: list[Any] = []
    for k, bound in enumerate(BOUNDS):
        parts.append(("{" if k == 0 else ",") + f'"{bound:g}":')
        parts.append(pa.array(counts[:, k]).cast(pa.string()))
    parts.append(',"+Inf":')
    parts.append(pa.array(total).cast(pa.string()))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _samples(rng: np.random.Generator, cal: Calendar, p: Profile, outages: list[Outage]) -> dict[str, Any]:
    n = int(cal.seconds // p.interval_s)
    t = np.arange(n, dtype=np.float64) * p.interval_s
    hour = (t % DAY) / HOUR
    weekday = (cal.start.weekday() + (t // DAY).astype(np.int64)) % 7
    diurnal = 0.5 * (1 - np.cos(2 * np.pi * (hour - 3) / 24))  # trough at 03:00 UTC, peak at 15:00
    load = (0.25 + 0.75 * diurnal) * np.where(weekday >= 5, 0.7, 1.0) * (1 + 0.35 * t / cal.seconds)
    load *= np.exp(0.06 * rng.standard_normal(n))
    load_norm = load / load.max()
    requests = rng.poisson(p.peak_rps * load * p.interval_s).astype(np.int64)

    err_p = p.base_error * np.exp(0.4 * rng.standard_normal(n))
    slow = np.zeros(n)
    hot = np.zeros(n)
    for o in outages:
        m = (t + p.interval_s > o.start) & (t < o.end)
        err_p[m] = o.error_rate
        slow[m] = np.log(o.latency_factor)
        hot[m] = 0.1
    errors = rng.binomial(requests, np.clip(err_p, 0, 1))

    mu = np.log(p.latency_median_s) + 0.35 * (load_norm - 0.5) + 0.05 * rng.standard_normal(n) + slow
    z = (np.log(np.array(BOUNDS))[None, :] - mu[:, None]) / p.latency_sigma
    cdf = 0.5 * (1 + _erf(z / np.sqrt(2.0)))
    counts = np.floor(requests[:, None] * cdf).astype(np.int64)
    counts = np.minimum(np.maximum.accumulate(counts, axis=1), requests[:, None])

    cpu = np.clip(p.cpu_base + p.cpu_amp * load_norm + 0.04 * rng.standard_normal(n) + hot, 0.01, 1.0)
    leak = (t / (3.5 * DAY) + rng.random()) % 1.0  # memory creeps up until the weekly-ish restart
    memory = np.clip(0.42 + 0.25 * leak + 0.02 * rng.standard_normal(n), 0.01, 1.0)
    return {
        "service": np.full(n, p.name, dtype=object),
        "ts": cal.to_ts(t),
        "interval_s": np.full(n, float(p.interval_s)),
        "requests": requests.astype(np.float64),
        "errors": errors.astype(np.float64),
        "latency_buckets": _histogram_json(counts, requests),
        "cpu_util": np.round(cpu, 4),
        "memory_util": np.round(memory, 4),
    }


def simulate_reliability(rng: np.random.Generator, cal: Calendar) -> Reliability:
    """Samples of every watched service and an incident per outage window."""
    parts: list[dict[str, Any]] = []
    outages: list[Outage] = []
    for p in PROFILES:
        outs = _outages(rng, cal, p)
        outages.extend(outs)
        parts.append(_samples(rng, cal, p, outs))
    n = sum(len(x["service"]) for x in parts)
    cols: dict[str, Any] = {"id": seq_ids("smp-", n, 7)}
    for name in parts[0]:
        if name == "latency_buckets" or name == "ts":
            cols[name] = pa.concat_arrays([pa.array(x[name]) for x in parts])
        else:
            cols[name] = np.concatenate([x[name] for x in parts])
    samples = build_table("service_samples", n, cols)

    incidents = IncidentParts()
    for o in outages:
        incidents.service.append(o.service)
        incidents.opened.append(o.start + float(rng.uniform(2, 10)) * MINUTE)
        incidents.resolved.append(o.end + float(rng.uniform(0, 15)) * MINUTE)
        incidents.severity.append("sev1" if o.error_rate >= 0.3 else "sev2")
        incidents.cause.append(None)
        incidents.planted.append("outage")
    return Reliability(samples=samples, incidents=incidents, outages=outages)
