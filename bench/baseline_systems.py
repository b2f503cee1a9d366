"""pandas baseline, systems' side of DESIGN.md §3: delivery (DORA), reliability (incl. SLOs), feature store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pajson

from baseline_core import NULL, US_PER_DAY, US_PER_S, Bench, _by_week, _days, _grp, _in, _us, _week

# -- delivery -------------------------------------------------------------------------------------------------

BANDS = {  # DORA 2023: (elite, high, medium) bounds; lower_is_better keys use <, frequency and CFR as noted
    "lead_time": (86_400, 7 * 86_400, 30 * 86_400),
    "recovery_time": (3_600, 86_400, 7 * 86_400),
}


def band(key: str, v: pd.Series) -> pd.Series:
    """The DORA band of each value (None where the value is null)."""
    x = v.to_numpy(dtype=float)
    if key in BANDS:
        e, h, m = BANDS[key]
        out = np.where(x < e, "elite", np.where(x < h, "high", np.where(x < m, "medium", "low")))
    elif key == "change_failure_rate":
        out = np.where(x <= 0.05, "elite", np.where(x <= 0.10, "high", np.where(x <= 0.15, "medium", "low")))
    else:  # deploy days per week: ≥5, ≥1, ≥1 per month (12/52 per week), less
        out = np.where(x >= 5, "elite", np.where(x >= 1, "high", np.where(x >= 12 / 52, "medium", "low")))
    return pd.Series(np.where(np.isnan(x), None, out), index=v.index, dtype=object)


def _prod(b: Bench) -> pd.DataFrame:
    d = b.frames["deployments"]
    return d[d.environment == "production"]


def deployment_frequency(b: Bench, by: str | None) -> pd.DataFrame:
    d = _prod(b)
    d = d[(d.status == "succeeded") & _in(b, d.finished_at)]
    x = _by_week(d, d.finished_at, by).assign(day=_days(d.finished_at))
    g = x.groupby(["wk", "group"]).agg(value=("day", "size"), deploy_days=("day", "nunique")).reset_index()
    return g.assign(n=g.value, band=band("deployment_frequency", g.deploy_days))


def _lead_times(b: Bench) -> pd.DataFrame:
    d = _prod(b)
    d = d[(d.status == "succeeded") & d.change_ids.notna()][["finished_at", "change_ids", "team"]]
    e = d.explode("change_ids").dropna(subset=["change_ids"])
    e = e.sort_values("finished_at").drop_duplicates("change_ids")
    c = b.frames["changes"][["id", "created_at", "team"]]
    m = e.merge(c, left_on="change_ids", right_on="id", suffixes=("_d", ""))
    m["team"] = m.team.astype(object).fillna(m.team_d.astype(object))
    m["secs"] = (m.finished_at - m.created_at) / US_PER_S
    return m[_in(b, m.finished_at)]


def lead_time_for_changes(b: Bench, by: str | None) -> pd.DataFrame:
    m = _lead_times(b)
    ok = m["secs"] >= 0
    m = _by_week(m[ok], m.finished_at[ok], by)
    g = m.groupby(["wk", "group"]).agg(value=("secs", "median"), n=("secs", "size")).reset_index()
    return g.assign(band=band("lead_time", g.value))


def _median_of(b: Bench, df: pd.DataFrame, ts: pd.Series, secs: pd.Series, by: str | None) -> pd.DataFrame:
    keep = _in(b, ts) & secs.notna()
    x = _by_week(df[keep], ts[keep], by).assign(s=secs[keep])
    return x.groupby(["wk", "group"]).agg(value=("s", "median"), n=("s", "size")).reset_index()


def time_to_deploy(b: Bench, by: str | None) -> pd.DataFrame:
    d = _prod(b)
    d = d[d.status == "succeeded"]
    return _median_of(b, d, d.finished_at, (d.finished_at - d.model_ready_at) / US_PER_S, by)


def deployment_duration(b: Bench, by: str | None) -> pd.DataFrame:
    d = _prod(b)
    return _median_of(b, d, d.finished_at, (d.finished_at - d.started_at) / US_PER_S, by)


def _links(b: Bench) -> pd.DataFrame:
    """Incident → deployment (id, finished_at): the explicit cause, else the latest succeeded production
    deployment of the same service that finished at most the link window before the incident opened."""
    inc = b.frames["incidents"]
    inc = inc[inc.opened_at < _us(b.until)]
    deps = b.frames["deployments"].set_index("id")
    exp = inc[inc.caused_by_deployment.notna()]
    explicit = pd.DataFrame({"inc": exp.id, "dep_fin": exp.caused_by_deployment.map(deps.finished_at)})
    imp = inc[inc.caused_by_deployment.isna()][["id", "service", "opened_at"]].astype({"service": object})
    d = _prod(b)
    d = d[d.status == "succeeded"][["id", "service", "finished_at"]].astype({"service": object})
    window = b.get("incident_link_window_s", 86_400) * US_PER_S
    m = pd.merge_asof(
        imp.sort_values("opened_at"),
        d.rename(columns={"id": "dep"}).sort_values("finished_at"),
        left_on="opened_at",
        right_on="finished_at",
        by="service",
        direction="backward",
        tolerance=float(window),
    )
    implicit = pd.DataFrame({"inc": m.id, "dep": m.dep, "dep_fin": m.finished_at}).dropna(subset=["dep"])
    explicit["dep"] = exp.caused_by_deployment
    return pd.concat([explicit.dropna(subset=["dep_fin"]), implicit])


def change_failure_rate(b: Bench, by: str | None) -> pd.DataFrame:
    d = _prod(b)
    d = d[d.status.isin(["succeeded", "rolled_back"]) & _in(b, d.finished_at)]
    linked = d.id.isin(_links(b).dep)
    x = _by_week(d, d.finished_at, by).assign(f=((d.status == "rolled_back") | linked).astype(float))
    g = x.groupby(["wk", "group"]).agg(value=("f", "mean"), n=("f", "size")).reset_index()
    return g.assign(band=band("change_failure_rate", g.value))


def mttr(b: Bench, by: str | None) -> pd.DataFrame:
    i = b.frames["incidents"]
    g = _median_of(b, i, i.resolved_at, (i.resolved_at - i.opened_at) / US_PER_S, by)
    return g.assign(band=band("recovery_time", g.value))


def failed_deployment_recovery_time(b: Bench, by: str | None) -> pd.DataFrame:
    i = b.frames["incidents"]
    i = i.merge(_links(b), left_on="id", right_on="inc")
    g = _median_of(b, i, i.resolved_at, (i.resolved_at - i.dep_fin) / US_PER_S, by)
    return g.assign(band=band("recovery_time", g.value))


DORA_KEYS = ("lead_time", "deployment_frequency", "change_failure_rate", "recovery_time")


def dora_band(b: Bench, by: str | None) -> pd.DataFrame:
    keys = {
        "lead_time": lead_time_for_changes(b, by),
        "deployment_frequency": deployment_frequency(b, by),
        "change_failure_rate": change_failure_rate(b, by),
        "recovery_time": failed_deployment_recovery_time(b, by),
    }
    f = keys["deployment_frequency"]
    keys["deployment_frequency"] = f.assign(value=f.deploy_days.astype(float)).drop(columns="deploy_days")
    # a period without deployments is still a measured frequency: 0 deploy-days, band low
    groups = sorted(set().union(*(set(k["group"]) for k in keys.values())))
    grid = pd.MultiIndex.from_product([b.weeks, groups], names=["wk", "group"]).to_frame(False)
    f = grid.merge(keys["deployment_frequency"], on=["wk", "group"], how="left").fillna({"value": 0.0, "n": 0})
    keys["deployment_frequency"] = f.assign(band=band("deployment_frequency", f.value))
    return pd.concat(
        [k[["wk", "group", "value", "n"]].assign(key=name, band=band(name, k.value)) for name, k in keys.items()]
    )


def manual_tasks_to_deploy(b: Bench, by: str | None) -> pd.DataFrame:
    d = _prod(b)
    keep = _in(b, d.finished_at) & d.manual_steps.notna()
    x = _by_week(d[keep], d.finished_at[keep], by)
    return x.groupby(["wk", "group"]).agg(value=("manual_steps", "mean"), n=("manual_steps", "size")).reset_index()


# -- reliability ------------------------------------------------------------------------------------------------


def _samples(b: Bench, by: str | None) -> pd.DataFrame:
    s = b.frames["service_samples"]
    s = s[_in(b, s.ts)]
    return _by_week(s, s.ts, by)


def throughput(b: Bench, by: str | None) -> pd.DataFrame:
    g = _samples(b, by).groupby(["wk", "group"]).agg(r=("requests", "sum"), i=("interval_s", "sum"), n=("ts", "size"))
    return g.assign(value=g.r / g.i).drop(columns=["r", "i"]).reset_index()


def error_rate(b: Bench, by: str | None) -> pd.DataFrame:
    g = _samples(b, by).groupby(["wk", "group"]).agg(n=("requests", "sum"), e=("errors", "sum"))
    return g.assign(value=(g.e / g.n).where(g.n > 0)).drop(columns=["e"]).reset_index()


def availability(b: Bench, by: str | None) -> pd.DataFrame:
    g = error_rate(b, by)
    return g.assign(value=1 - g.value)


def _parsed_histograms(b: Bench) -> tuple[pd.DataFrame, np.ndarray]:
    """Every sample's histogram as columns of cumulative counts, bounds sorted (last = +Inf); cached."""
    if "_hist" not in b.frames:
        s = b.frames["service_samples"]
        s = s[s.latency_buckets.notna()]
        text = "\n".join(s.latency_buckets.tolist()).encode()
        parsed = pajson.read_json(pa.py_buffer(text)).to_pandas() if len(s) else pd.DataFrame()
        bounds = np.array([np.inf if k.lstrip("+").lower() == "inf" else float(k) for k in parsed.columns])
        order = np.argsort(bounds)
        parsed = parsed.iloc[:, order].set_axis([f"b{i}" for i in range(len(order))], axis=1)
        b.frames["_hist"] = pd.concat([s[["ts", "service"]].reset_index(drop=True), parsed], axis=1)
        b.frames["_hist_bounds"] = pd.DataFrame({"le": bounds[order]})
    return b.frames["_hist"], b.frames["_hist_bounds"]["le"].to_numpy()


def _histograms(b: Bench, by: str | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Histograms summed per (wk, group) bound by bound: the keys (n = observations), bounds, counts."""
    h, le = _parsed_histograms(b)
    h = h[_in(b, h.ts)]
    cols = [c for c in h.columns if c.startswith("b")]
    g = _by_week(h, h.ts, by).groupby(["wk", "group"])[cols].sum().reset_index()
    cum = g[cols].to_numpy(dtype=float)
    return g[["wk", "group"]].assign(n=cum[:, -1]), le, cum


def histogram_quantile(q: float, le: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Prometheus `histogram_quantile` on each row of cumulative counts `cum` (bounds `le`, last = +Inf)."""
    total = cum[:, -1]
    rank = q * total
    hit = cum[:, :-1] >= rank[:, None]
    idx = np.where(hit.any(axis=1), hit.argmax(axis=1), len(le) - 1)
    rows = np.arange(len(cum))
    upper = le[np.minimum(idx, len(le) - 2)]
    lower = np.where(idx > 0, le[np.maximum(idx - 1, 0)], 0.0)
    below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
    inside = cum[rows, idx] - below
    with np.errstate(invalid="ignore", divide="ignore"):
        v = lower + (upper - lower) * (rank - below) / inside
    v = np.where(idx == len(le) - 1, le[-2], v)
    return np.where(total > 0, v, np.nan)


def latency(q: float) -> Callable[[Bench, str | None], pd.DataFrame]:
    def fn(b: Bench, by: str | None) -> pd.DataFrame:
        keys, le, cum = _histograms(b, by)
        return keys.assign(value=histogram_quantile(q, le, cum))

    return fn


def share_at_or_under(threshold: np.ndarray, le: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Share of observations ≤ threshold per row, linear inside the bucket holding it (+Inf ones are over)."""
    total = cum[:, -1]
    idx = np.minimum(np.searchsorted(le, threshold, side="left"), len(le) - 1)  # first bound ≥ threshold
    rows = np.arange(len(cum))
    upper = le[idx]
    lower = np.where(idx > 0, le[np.maximum(idx - 1, 0)], 0.0)
    below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.where(np.isinf(upper), 0.0, (threshold - lower) / (upper - lower) * (cum[rows, idx] - below))
        return np.where(total > 0, (below + inside) / total, np.nan)


def latency_budget_attainment(b: Bench, by: str | None) -> pd.DataFrame:
    budgets = b.get("latency_budgets", {})
    keys, le, cum = _histograms(b, "service")
    keep = keys.group.isin(list(budgets)).to_numpy()
    keys, cum = keys[keep], cum[keep]
    return keys.assign(value=share_at_or_under(keys.group.map(budgets).to_numpy(dtype=float), le, cum))


def incident_count(b: Bench, by: str | None) -> pd.DataFrame:
    i = b.frames["incidents"]
    i = i[_in(b, i.opened_at)]
    x = _by_week(i, i.opened_at, by).assign(severity=i.severity.astype(object).fillna("unspecified"))
    per = x.groupby(["wk", "group", "severity"]).size().rename("value").reset_index()
    total = x.groupby(["wk", "group"]).size().rename("value").reset_index().assign(severity=None)
    g = pd.concat([per, total])
    return g.assign(n=g.value)


def severities(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"severity": s} for s in sorted(x for x in df.severity.unique() if x is not None)] + [{"severity": None}]


def _islands(o: np.ndarray, e: np.ndarray, group: np.ndarray) -> pd.DataFrame:
    """Union of [o, e) intervals per group, as disjoint intervals."""
    x = pd.DataFrame({"group": group, "o": o, "e": e}).sort_values(["group", "o"])
    reach = x.groupby("group").e.cummax().groupby(x.group).shift()
    x["island"] = (reach.isna() | (x.o > reach)).cumsum()
    return x.groupby(["group", "island"]).agg(o=("o", "min"), e=("e", "max")).reset_index()


def mtbf(b: Bench, by: str | None) -> pd.DataFrame:
    i = b.frames["incidents"]
    i = i[i.opened_at < _us(b.until)]
    # northstar documents reliability durations as whole seconds (timestamps truncated to the second)
    opened = np.floor(i.opened_at / US_PER_S) * US_PER_S
    end = np.minimum(np.floor(i.resolved_at.fillna(_us(b.until)) / US_PER_S) * US_PER_S, _us(b.until))
    isl = _islands(opened.to_numpy(), end.to_numpy(), _grp(i, by).to_numpy())
    x = isl.merge(pd.DataFrame({"wk": b.weeks}), how="cross")
    ps = np.maximum(x.wk * US_PER_DAY, _us(b.since))
    pe = np.minimum((x.wk + 7) * US_PER_DAY, _us(b.until))
    x["down"] = (np.minimum(x.e, pe) - np.maximum(x.o, ps)).clip(lower=0) / US_PER_S
    down = x.groupby(["wk", "group"]).down.sum()
    new = i[_in(b, i.opened_at)]
    n = _by_week(new, new.opened_at, by).groupby(["wk", "group"]).size().rename("n")
    g = pd.concat([n, down], axis=1, join="inner").reset_index()
    span = (np.minimum((g.wk + 7) * US_PER_DAY, _us(b.until)) - np.maximum(g.wk * US_PER_DAY, _us(b.since))) / US_PER_S
    return g.assign(value=(span - g.down) / g.n).drop(columns="down")


def p95(col: str) -> Callable[[Bench, str | None], pd.DataFrame]:
    def fn(b: Bench, by: str | None) -> pd.DataFrame:
        s = _samples(b, by)
        g = s[s[col].notna()].groupby(["wk", "group"])[col]
        return pd.concat([g.quantile(0.95).rename("value"), g.size().rename("n")], axis=1).reset_index()

    return fn


def saturation(b: Bench, by: str | None) -> pd.DataFrame:
    s = _samples(b, by)
    peak = s[["cpu_util", "memory_util"]].max(axis=1, skipna=True)
    s = s.assign(sat=(peak >= b.get("saturation_threshold", 0.8)).astype(float))[peak.notna()]
    return s.groupby(["wk", "group"]).agg(value=("sat", "mean"), n=("sat", "size")).reset_index()


SLO_WINDOWS = {"1h": 3_600, "6h": 21_600, "1d": 86_400, "3d": 259_200, "5m": 300, "30m": 1_800, "2h": 7_200}
# the SRE workbook's multiwindow alerts: (long window, short window, burn factor for a 30-day SLO window)
PAGE = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
TICKET = (("1d", "2h", 3.0), ("3d", "6h", 1.0))


def _slo_traffic(b: Bench, o: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The SLO's service traffic as (ts, total, bad), sorted by ts: requests/errors or observations/slow."""
    if o["indicator"] == "availability":
        s = b.frames["service_samples"]
        x = s[s.service == o["service"]]
        ts, total, bad = x.ts.to_numpy(), x.requests.to_numpy(float), x.errors.to_numpy(float)
    else:
        h, le = _parsed_histograms(b)
        x = h[h.service == o["service"]]
        cum = x[[c for c in x.columns if c.startswith("b")]].to_numpy(dtype=float)
        fast = share_at_or_under(np.full(len(x), o["latency_threshold"]), le, cum) * cum[:, -1]
        ts, total = x.ts.to_numpy(), cum[:, -1]
        bad = total - np.nan_to_num(fast)
    order = np.argsort(ts)
    return ts[order], total[order], bad[order]


def _window_sums(ts: np.ndarray, total: np.ndarray, bad: np.ndarray, ends: np.ndarray, seconds: float) -> tuple:
    """Σ total and Σ bad over the samples starting in [end − seconds, end), for every end."""
    c_total, c_bad = np.r_[0, np.cumsum(total)], np.r_[0, np.cumsum(bad)]
    lo = np.searchsorted(ts, ends - seconds * US_PER_S, side="left")
    hi = np.searchsorted(ts, ends, side="left")
    return c_total[hi] - c_total[lo], c_bad[hi] - c_bad[lo]


def slo(b: Bench, by: str | None) -> pd.DataFrame:
    """Per SLO and period: the SLI over the SLO window ending at the period's end (or --until), the error
    budget left, burn rates and the multiwindow alert (factors scaled by window ÷ 30 days)."""
    out = []
    ends = np.minimum((b.weeks + 7) * US_PER_DAY, _us(b.until)).astype(np.float64)
    for o in b.get("slos", []):
        ts, total, bad = _slo_traffic(b, o)
        n, errs = _window_sums(ts, total, bad, ends, o["window_s"])
        budget = 1 - o["objective"]
        scale = o["window_s"] / (30 * 86_400)
        with np.errstate(invalid="ignore", divide="ignore"):
            sli = np.where(n > 0, 1 - errs / n, np.nan)
            burn = {}
            for k, secs in SLO_WINDOWS.items():
                t, e = _window_sums(ts, total, bad, ends, secs)
                burn[k] = np.where(t > 0, e / t / budget, np.nan)
        fires = {
            name: np.any([(burn[a] > f * scale) & (burn[c] > f * scale) for a, c, f in rules], axis=0)
            for name, rules in (("page", PAGE), ("ticket", TICKET))
        }  # a NaN burn rate never fires
        alert = np.where(fires["page"], "page", np.where(fires["ticket"], "ticket", "ok"))
        row = pd.DataFrame({"wk": b.weeks, "group": o["service"] if by else NULL, "value": sli, "n": n})
        row["slo"] = o["name"]
        row["sli"] = sli
        row["error_budget_remaining"] = 1 - (1 - sli) / budget
        for k in ("1h", "6h", "1d", "3d"):
            row[f"burn_{k}"] = burn[k]
        row["alert"] = np.where(np.isnan(sli), None, alert)
        out.append(row)
    return pd.concat(out) if out else pd.DataFrame(columns=["wk", "group", "value", "n"])


# -- feature store ---------------------------------------------------------------------------------------------------


def _snapshots(b: Bench) -> pd.DataFrame:
    """(wk, feature row) for every feature that existed at each period's end (or --until)."""
    f = b.frames["features"]
    at = pd.DataFrame({"wk": b.weeks, "at": np.minimum((b.weeks + 7) * US_PER_DAY, _us(b.until))})
    x = at.merge(f, how="cross")
    return x[x.created_at.isna() | (x.created_at < x["at"])]


def feature_reuse(b: Bench, by: str | None) -> pd.DataFrame:
    x = _snapshots(b)
    u = b.frames["feature_usage"][["feature", "consumer", "since"]]
    m = x[["wk", "at", "id"]].merge(u, left_on="id", right_on="feature")
    m = m[m.since.isna() | (m.since < m["at"])]
    consumers = m.groupby(["wk", "id"]).consumer.nunique()
    x = x.assign(reused=(x.set_index(["wk", "id"]).index.map(consumers).fillna(0).to_numpy() >= 2).astype(float))
    g = x.groupby("wk").agg(value=("reused", "mean"), n=("reused", "size")).reset_index()
    return g.assign(group=NULL)


def feature_ownership(b: Bench, by: str | None) -> pd.DataFrame:
    x = _snapshots(b)
    x = x.assign(owned=x.owner.notna().astype(float))
    return x.groupby("wk").agg(value=("owned", "mean"), n=("owned", "size")).reset_index().assign(group=NULL)


def feature_freshness(b: Bench, by: str | None) -> pd.DataFrame:
    """One row, in the last period of the window (the one holding the last instant before --until)."""
    f = b.frames["features"]
    now = _us(b.until)
    age = ((now - f.last_materialized_at) / US_PER_S)[f.last_materialized_at <= now]
    wk = _week(np.array([now - 1]))[0]
    return pd.DataFrame(
        {"wk": [wk], "group": [NULL], "value": [age.quantile(0.95) if len(age) else np.nan], "n": [len(age)]}
    )
