"""`northstar check`: the status of the North Star, its inputs, the KPIs and the OKRs' key results.

- North Star: the value of the latest *complete* period (its `period`, default week), the trend over the last
  `TREND_PERIODS` complete periods (least-squares slope; `flat` when the line moves less than 1% of the mean
  over them), the distance to target, and on track or not: the trend line, extended to the target date,
  meets the target (≥ for higher-is-better metrics, ≤ for lower-is-better). Past the target date: whether
  the current value meets the target.
- Inputs: the same value and trend, and whether the value meets its target (inputs have no date).
- KPIs: `breach` when the value reaches the breach threshold, else `warn` when it reaches the warn threshold,
  else `ok` — "reaches" respects the metric's direction (lower-is-better: value ≥ breach is a breach;
  higher-is-better: value ≤ breach is). `no_data` when the latest complete period has no value.
- Key results: the metric's value over the OKR's quarter (quarter to date while it runs — the `quarter` row of
  `northstar metrics --period quarter`); progress = (value − baseline) ÷ (target − baseline); expected
  progress = the elapsed share of the quarter at `as_of`. No baseline: the previous quarter's value.

"Now" (`as_of`) is midnight after the last day of data unless given, so the demo and a stale store are judged
at the time of their data. Exit code: 1 when any KPI is breached, else 0 (see `exit_code`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from northstar.config import KPI, OKR, InputMetric, NorthStar, Settings
from northstar.framework.lint import LintReport
from northstar.framework.sandwich import group_by_layer, sandwich_layer
from northstar.framework.series import Point, Series, SeriesSource, period_end
from northstar.metrics import catalog

__all__ = [
    "TREND_PERIODS",
    "CheckReport",
    "expected_progress",
    "kpi_status",
    "kr_progress",
    "run_check",
    "trend",
]

TREND_PERIODS = 8
KpiStatus = Literal["ok", "warn", "breach", "no_data"]


def kpi_status(value: float | None, warn: float, breach: float, direction: str) -> KpiStatus:
    """ok / warn / breach for a KPI value; reaching a threshold triggers it (direction-aware)."""
    if value is None:
        return "no_data"
    if direction == "lower_is_better":
        if value >= breach:
            return "breach"
        if value >= warn:
            return "warn"
        return "ok"
    if value <= breach:
        return "breach"
    if value <= warn:
        return "warn"
    return "ok"


def kr_progress(value: float | None, baseline: float | None, target: float) -> float | None:
    """(value − baseline) ÷ (target − baseline); 1 or 0 when baseline equals target (met or not)."""
    if value is None or baseline is None:
        return None
    if target == baseline:
        return 1.0 if value == target else 0.0
    return (value - baseline) / (target - baseline)


def expected_progress(start: date, end: date, as_of: date) -> float:
    """The elapsed share of [start, end) at `as_of` (exclusive end of the data), clipped to [0, 1]."""
    share = (as_of - start).days / (end - start).days
    return min(1.0, max(0.0, share))


def meets(value: float | None, target: float, direction: str) -> bool | None:
    if value is None:
        return None
    return value <= target if direction == "lower_is_better" else value >= target


def trend(points: Sequence[Point], direction: str, n: int = TREND_PERIODS) -> dict[str, Any]:
    """The last `n` complete periods, the least-squares slope per period and its meaning for the metric."""
    last = list(points)[-n:]
    xy = [(i, p.value) for i, p in enumerate(last) if p.value is not None]
    out: dict[str, Any] = {
        "periods": [{"period_start": p.period_start.isoformat(), "value": p.value, "n": p.n} for p in last],
        "slope": None,
        "intercept": None,
        "direction": None,
        "improving": None,
    }
    if len(xy) < 2:
        return out
    mx = sum(x for x, _ in xy) / len(xy)
    my = sum(y for _, y in xy) / len(xy)
    sxx = sum((x - mx) ** 2 for x, _ in xy)
    slope = sum((x - mx) * (y - my) for x, y in xy) / sxx
    moved = abs(slope) * (xy[-1][0] - xy[0][0])
    flat = moved == 0 or (my != 0 and moved < 0.01 * abs(my))
    out.update(
        slope=slope,
        intercept=my - slope * mx,
        direction="flat" if flat else ("up" if slope > 0 else "down"),
        improving=None if flat else ((slope > 0) == (direction == "higher_is_better")),
    )
    return out


def _project(tr: dict[str, Any], points: Sequence[Point], period: str, when: date) -> float | None:
    """The trend line's value at `when` (fractional periods after the first trend period)."""
    if tr["slope"] is None:
        return None
    first = list(points)[-TREND_PERIODS:][0].period_start
    length = (period_end(first, period) - first).days
    x = (when - first).days / length
    return float(tr["intercept"] + tr["slope"] * x)


def _metric_info(name: str) -> dict[str, Any]:
    m = catalog.REGISTRY[name]
    return {"category": m.category, "unit": m.unit, "direction": m.direction, "question": m.question}


def _current(series: Series) -> dict[str, Any]:
    p = series.latest
    return {
        "period_start": p.period_start.isoformat() if p else None,
        "value": p.value if p else None,
        "n": p.n if p else 0,
    }


def north_star_status(ns: NorthStar, src: SeriesSource) -> dict[str, Any]:
    """Value, trend, distance to target and on-track projection of the North Star."""
    info = _metric_info(ns.metric)
    s = src.get(ns.metric, ns.scope, ns.period)
    cur = _current(s)
    tr = trend(s.points, info["direction"])
    out: dict[str, Any] = {
        "metric": ns.metric,
        "scope": dict(ns.scope),
        "period": ns.period,
        **info,
        "current": cur,
        "trend": tr,
        "target": ns.target,
        "by": ns.by.isoformat() if ns.by else None,
        "distance": None,
        "projected": None,
        "on_track": None,
        "status": "no target",
    }
    value = cur["value"]
    if value is None:
        out["status"] = "no data"
        return out
    if ns.target is None:
        return out
    out["distance"] = ns.target - value
    if ns.by is None or ns.by <= src.as_of:
        ok = meets(value, ns.target, info["direction"])
        out.update(on_track=ok, status="achieved" if ok else ("missed" if ns.by else "not met"))
        return out
    projected = _project(tr, s.points, ns.period, ns.by)
    out["projected"] = projected
    if projected is None:
        out["status"] = "not enough data for a trend"
        return out
    ok = meets(projected, ns.target, info["direction"])
    out.update(on_track=ok, status="on track" if ok else "off track")
    return out


def input_status(i: int, inp: InputMetric, period: str, src: SeriesSource) -> dict[str, Any]:
    info = _metric_info(inp.metric)
    s = src.get(inp.metric, inp.scope, period)
    cur = _current(s)
    ok = meets(cur["value"], inp.target, info["direction"]) if inp.target is not None else None
    return {
        "where": f"inputs[{i}]",
        "metric": inp.metric,
        "scope": dict(inp.scope),
        "period": period,
        **info,
        "current": cur,
        "trend": trend(s.points, info["direction"]),
        "target": inp.target,
        "distance": None if inp.target is None or cur["value"] is None else inp.target - cur["value"],
        "meets_target": ok,
        "status": "no data" if cur["value"] is None else ("no target" if ok is None else ("met" if ok else "not met")),
    }


def kpi_report(i: int, kpi: KPI, src: SeriesSource) -> dict[str, Any]:
    info = _metric_info(kpi.metric)
    s = src.get(kpi.metric, kpi.scope, kpi.period)
    cur = _current(s)
    return {
        "where": f"kpis[{i}]",
        "metric": kpi.metric,
        "scope": dict(kpi.scope),
        "period": kpi.period,
        **info,
        "current": cur,
        "trend": trend(s.points, info["direction"]),
        "warn": kpi.warn,
        "breach": kpi.breach,
        "owner": kpi.owner,
        "status": kpi_status(cur["value"], kpi.warn, kpi.breach, info["direction"]),
    }


def okr_report(i: int, okr: OKR, src: SeriesSource) -> dict[str, Any]:
    start, end = okr.bounds()
    expected = expected_progress(start, end, src.as_of)
    prev = date(start.year - 1, 10, 1) if start.month == 1 else date(start.year, start.month - 3, 1)
    krs = []
    for j, kr in enumerate(okr.key_results):
        info = _metric_info(kr.metric)
        s = src.get(kr.metric, kr.scope, "quarter")
        point = s.at(start)
        value = point.value if point else None
        baseline, baseline_from = kr.baseline, "config"
        if baseline is None:
            before = s.at(prev)
            baseline, baseline_from = (before.value if before else None), f"{prev.year}-Q{(prev.month - 1) // 3 + 1}"
        progress = kr_progress(value, baseline, kr.target)
        if src.as_of <= start:
            status = "not started"
        elif progress is None:
            status = "no data"
        elif progress >= 1:
            status = "achieved"
        else:
            status = "on track" if progress >= expected else "behind"
        krs.append(
            {
                "where": f"okrs[{i}].key_results[{j}]",
                "metric": kr.metric,
                "scope": dict(kr.scope),
                **info,
                "value": value,
                "n": point.n if point else 0,
                "baseline": baseline,
                "baseline_from": baseline_from,
                "target": kr.target,
                "progress": progress,
                "expected_progress": expected,
                "status": status,
            }
        )
    scored = [min(1.0, max(0.0, k["progress"])) for k in krs if k["progress"] is not None]
    return {
        "where": f"okrs[{i}]",
        "objective": okr.objective,
        "quarter": okr.quarter,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "expected_progress": expected,
        "progress": sum(scored) / len(scored) if scored else None,
        "key_results": krs,
    }


@dataclass
class CheckReport:
    """What `northstar check` reports, as one object."""

    as_of: date
    north_star: dict[str, Any] | None
    inputs: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    okrs: list[dict[str, Any]]
    lint: LintReport
    notes: list[str] = field(default_factory=list)

    @property
    def breached(self) -> list[dict[str, Any]]:
        return [k for k in self.kpis if k["status"] == "breach"]

    def exit_code(self, strict: bool = False) -> int:
        """1 when a KPI is breached (or, with `strict`, on a lint error); else 0."""
        return 1 if self.breached or (strict and self.lint.errors) else 0

    def sandwich(self) -> list[dict[str, Any]]:
        """Every checked metric in its sandwich layer: role, where, metric and status."""
        items: list[dict[str, Any]] = []
        if self.north_star is not None:
            items.append({"role": "north_star", "where": "north_star", **_brief(self.north_star)})
        items += [{"role": "input", "where": r["where"], **_brief(r)} for r in self.inputs]
        items += [{"role": "kpi", "where": r["where"], **_brief(r)} for r in self.kpis]
        items += [
            {"role": "key_result", "where": kr["where"], **_brief(kr)} for o in self.okrs for kr in o["key_results"]
        ]
        return group_by_layer(items, lambda it: sandwich_layer(it["metric"], it["category"]))

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "north_star": self.north_star,
            "inputs": self.inputs,
            "kpis": self.kpis,
            "okrs": self.okrs,
            "sandwich": self.sandwich(),
            "lint": self.lint.to_dict(),
            "notes": self.notes,
            "breached": [k["where"] for k in self.breached],
            "exit_code": self.exit_code(strict),
        }


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    value = r["current"]["value"] if "current" in r else r.get("value")
    return {
        "metric": r["metric"],
        "scope": r["scope"],
        "category": r["category"],
        "value": value,
        "status": r["status"],
    }


def run_check(settings: Settings, src: SeriesSource, lint_report: LintReport) -> CheckReport:
    """Status of every target in `settings`, computed through `src` (config problems raise SeriesError)."""
    catalog.names()
    ns_period = settings.north_star.period if settings.north_star is not None else "week"
    notes = []
    if settings.north_star is None:
        notes.append("no North Star in the config: add `north_star: {metric: …, target: …, by: …}`")
    if not settings.kpis:
        notes.append("no KPIs in the config: `check` exits 0 (nothing can be breached)")
    return CheckReport(
        as_of=src.as_of,
        north_star=north_star_status(settings.north_star, src) if settings.north_star is not None else None,
        inputs=[input_status(i, inp, ns_period, src) for i, inp in enumerate(settings.inputs)],
        kpis=[kpi_report(i, k, src) for i, k in enumerate(settings.kpis)],
        okrs=[okr_report(i, o, src) for i, o in enumerate(settings.okrs)],
        lint=lint_report,
        notes=notes,
    )
