"""The poster: the whole framework on one A3 sheet, from the platform's own numbers.

Top: the five-layer stack (declared vs measured, each component's adoption), the North Star with its inputs,
and the KPIs, OKRs and lint findings. Below: the four layers of the metrics sandwich, one column each.
Values are the latest complete week (surveys: the latest month with responses).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from northstar.framework.assess import LAYERS
from northstar.metrics import catalog
from northstar.report import charts
from northstar.report.data import ReportData
from northstar.report.fmt import fmt_date, fmt_month, fmt_value
from northstar.report.view import (
    Numbers,
    Tile,
    complete_rows,
    latest,
    points,
    status_of,
    tile,
    trend_badge,
    when,
)

__all__ = ["poster"]

MAX_FINDINGS = 3


def poster(data: ReportData, numbers: Numbers) -> dict[str, Any]:
    """Everything the poster template shows."""
    layers = sandwich(data, numbers)
    return {
        "stack": stack(data),
        "north_star": north_star(data, numbers),
        "inputs": inputs(data, numbers),
        "kpis": kpis(data, numbers),
        "okrs": okrs(data),
        "findings": findings(data),
        "sandwich": layers,
        "common_when": _common_when(layers),
    }


def _common_when(layers: list[dict[str, Any]]) -> str:
    """The period most tiles show (said once in the header; tiles only say when theirs differs)."""
    whens = [t.when for layer in layers for t in layer["tiles"] if t.when]
    common = max(set(whens), key=whens.count) if whens else ""
    for layer in layers:
        for t in layer["tiles"]:
            if t.when == common:
                t.when = ""
    return common


# -- the stack -------------------------------------------------------------------------------------------------


def stack(data: ReportData) -> dict[str, Any]:
    a = data.assessment
    layers = []
    for info in reversed(LAYERS):
        comps = [c for c in a.components if c.layer == info.layer]
        layers.append(
            {
                "layer": info.layer,
                "name": info.name,
                "declared": info.layer == a.declared_layer,
                "measured": info.layer == a.measured_layer,
                "present": any(c.present for c in comps),
                "components": [
                    {
                        "id": c.id,
                        "name": c.name or c.id,
                        "share": c.share,
                        "share_text": "–" if c.share is None else f"{c.share:.0%}",
                        "pct": 0 if c.share is None else round(100 * min(1.0, c.share)),
                        "adopted": c.adopted,
                        "present": c.present,
                        "teams": c.teams,
                    }
                    for c in comps
                ],
            }
        )
    window = ""
    if a.window_start and a.window_end:
        window = f"{fmt_date(a.window_start)} – {fmt_date(a.window_end - timedelta(days=1))}"
    return {
        "layers": layers,
        "declared": a.declared_layer,
        "measured": a.measured_layer,
        "threshold": f"{a.adoption_threshold:.0%}",
        "threshold_pct": round(100 * a.adoption_threshold),
        "active_teams": a.active_teams,
        "window": window,
        "gap": a.declared_layer is not None and a.measured_layer is not None and a.declared_layer > a.measured_layer,
        "step1b": a.step1b_warning,
        "measurable": a.measurable,
    }


# -- North Star and inputs -----------------------------------------------------------------------------------------


def _label(metric: str, scope: Mapping[str, str]) -> str:
    base = metric.replace("_", " ")
    return base + (f" · {', '.join(str(v) for v in scope.values())}" if scope else "")


def north_star(data: ReportData, numbers: Numbers) -> dict[str, Any] | None:
    ns = data.check.north_star
    if ns is None:
        return None
    unit = ns["unit"]
    cur = ns["current"]
    number = numbers.check("north_star", ns["metric"], ns["scope"], ns["period"], cur)
    tr = ns["trend"]
    arrow = {"up": "↗", "down": "↘", "flat": "→"}.get(tr["direction"] or "", "")
    mood = {True: "improving", False: "worsening"}.get(tr["improving"], "flat" if tr["direction"] else "")
    return {
        "metric": ns["metric"],
        "label": _label(ns["metric"], ns["scope"]),
        "question": ns["question"],
        "value": fmt_value(cur["value"], unit),
        "when": when(cur["period_start"], ns["period"]) if cur["period_start"] else "",
        "n": cur["n"],
        "target": fmt_value(ns["target"], unit) if ns["target"] is not None else None,
        "by": fmt_date(ns["by"]) if ns["by"] else None,
        "projected": fmt_value(ns["projected"], unit) if ns["projected"] is not None else None,
        "status": status_of(ns["status"]),
        "trend": {"arrow": arrow, "word": mood, "cls": {True: "good", False: "bad"}.get(tr["improving"], "none")},
        "chart": _north_star_chart(data, ns),
        "number": number,
    }


def _north_star_chart(data: ReportData, ns: Mapping[str, Any]) -> charts.Chart | None:
    """The North Star per period, its target and the trend line projected to the target date."""
    from northstar.report.fmt import duration_scale

    weekly = data.frame("weekly")
    rows: list[dict[str, Any]] = []
    if not ns["scope"] and ns["period"] == "week" and ns["metric"] in weekly.spec.names:
        series = complete_rows(weekly.series(ns["metric"]), data.window, "week")
        rows = [{"t": r["period_start"], "y": r["value"]} for r in series if r["value"] is not None]
    else:
        rows = [{"t": p["period_start"], "y": p["value"]} for p in ns["trend"]["periods"] if p["value"] is not None]
    if len(rows) < 2:
        return None
    unit = ns["unit"]
    scale, name = duration_scale([r["y"] for r in rows]) if unit == "seconds" else (1.0, "")
    for r in rows:
        r["y"] = r["y"] / scale
        r["series"] = "measured"
    extra: list[dict[str, Any]] = []
    tr = ns["trend"]
    if ns["projected"] is not None and ns["by"] and tr["periods"]:
        last = tr["periods"][-1]
        start_y = tr["intercept"] + tr["slope"] * (len(tr["periods"]) - 1)
        extra = [
            {"t": last["period_start"], "y": start_y / scale, "series": "trend, projected"},
            {"t": ns["by"], "y": ns["projected"] / scale, "series": "trend, projected"},
        ]
    rules = []
    if ns["target"] is not None:
        by = f" by {fmt_date(ns['by'])}" if ns["by"] else ""
        rules.append({"y": ns["target"] / scale, "label": f"target {fmt_value(ns['target'], unit)}{by}"})
    spec = charts.lines(
        rows + extra,
        y_title=name if unit == "seconds" else "",
        y_format=".0%" if unit == "ratio" else None,
        rules=rules,
        width=440,
        height=96,
        series_order=["measured", "trend, projected"],
        legend=False,
    )
    label = f"North Star {ns['metric']} per week (solid), its target and the trend projected to the target date"
    return charts.render_svg(spec, label, chart_id="ns")


def inputs(data: ReportData, numbers: Numbers) -> list[dict[str, Any]]:
    out = []
    for i in data.check.inputs:
        number = numbers.check(i["where"], i["metric"], i["scope"], i["period"], i["current"])
        pts = [(p["period_start"], p["value"]) for p in i["trend"]["periods"]]
        spec = charts.sparkline(pts, target=i["target"], width=90, height=24)
        out.append(
            {
                "label": _label(i["metric"], i["scope"]),
                "question": i["question"],
                "value": fmt_value(i["current"]["value"], i["unit"]),
                "target": fmt_value(i["target"], i["unit"]) if i["target"] is not None else None,
                "status": status_of(i["status"]),
                "spark": charts.render_svg(spec, f"{i['metric']}, last 8 weeks") if spec else None,
                "number": number,
            }
        )
    return out


# -- KPIs, OKRs, lint ----------------------------------------------------------------------------------------------


def kpis(data: ReportData, numbers: Numbers) -> list[dict[str, Any]]:
    out = []
    for k in data.check.kpis:
        number = numbers.check(k["where"], k["metric"], k["scope"], k["period"], k["current"])
        u = k["unit"]
        out.append(
            {
                "label": _label(k["metric"], k["scope"]),
                "value": fmt_value(k["current"]["value"], u),
                "warn": fmt_value(k["warn"], u),
                "breach": fmt_value(k["breach"], u),
                "owner": k["owner"] or "",
                "status": status_of(k["status"]),
                "number": number,
            }
        )
    return out


def okrs(data: ReportData) -> list[dict[str, Any]]:
    out = []
    for o in data.check.okrs:
        krs = []
        for kr in o["key_results"]:
            u = kr["unit"]
            progress = kr["progress"]
            krs.append(
                {
                    "label": _label(kr["metric"], kr["scope"]),
                    "text": f"{fmt_value(kr['baseline'], u)} → {fmt_value(kr['value'], u)} "
                    f"(target {fmt_value(kr['target'], u)})",
                    "progress": "–" if progress is None else f"{progress:.0%}",
                    "pct": 0 if progress is None else round(100 * min(1.0, max(0.0, progress))),
                    "status": status_of(kr["status"]),
                }
            )
        out.append(
            {
                "objective": o["objective"],
                "quarter": o["quarter"],
                "progress": "–" if o["progress"] is None else f"{o['progress']:.0%}",
                "expected": f"{o['expected_progress']:.0%}",
                "expected_pct": round(100 * o["expected_progress"]),
                "key_results": krs,
            }
        )
    return out


def findings(data: ReportData) -> dict[str, Any]:
    lint = data.check.lint
    shown = lint.findings[:MAX_FINDINGS]
    return {
        "errors": len(lint.errors),
        "warnings": len(lint.warnings),
        "list": [
            {
                "rule": f.rule,
                "name": f.name,
                "severity": f.severity,
                "where": f.where,
                "reason": f.reason,
                "hint": f.hint,
            }
            for f in shown
        ],
        "more": max(0, len(lint.findings) - len(shown)),
    }


# -- the sandwich ------------------------------------------------------------------------------------------------


def sandwich(data: ReportData, numbers: Numbers) -> list[dict[str, Any]]:
    return [
        {
            "key": "delivery",
            "title": "Delivery",
            "side": False,
            "question": "Do ML products reach production fast and safely?",
            "tiles": delivery_tiles(data, numbers),
        },
        {
            "key": "satisfaction",
            "title": "Satisfaction",
            "side": True,
            "question": "Do users like the platform?",
            "tiles": satisfaction_tiles(data, numbers),
        },
        {
            "key": "adoption",
            "title": "Adoption & engagement",
            "side": False,
            "question": "Is it used, and does use stick?",
            "tiles": adoption_tiles(data, numbers),
        },
        {
            "key": "reliability",
            "title": "Reliability",
            "side": False,
            "question": "Does the infrastructure hold up?",
            "tiles": reliability_tiles(data, numbers),
        },
    ]


def delivery_tiles(data: ReportData, numbers: Numbers) -> list[Tile]:
    w, win = data.frame("weekly"), data.window
    freq = tile(numbers, w, "deployment_frequency", "Deploy days per week", win, key="deploy_days", unit="count")
    row = latest(complete_rows(w.series("deployment_frequency"), win, "week"), win, "week")
    if row is not None:
        freq.sub = f"{fmt_value(row['value'], 'count')} deploys · DORA band"
        freq.extra.append(("deploys", fmt_value(row["value"], "count")))
    return [
        freq,
        tile(numbers, w, "lead_time_for_changes", "Lead time for changes", win, sub="median · DORA band"),
        tile(numbers, w, "change_failure_rate", "Change failure rate", win, sub="DORA band"),
        tile(
            numbers, w, "failed_deployment_recovery_time", "Failed deployment recovery", win, sub="median · DORA band"
        ),
        tile(numbers, w, "time_to_deploy", "Model ready → served", win, sub="median time to deploy"),
        tile(numbers, w, "manual_tasks_to_deploy", "Manual steps per deploy", win, sub="mean"),
    ]


def satisfaction_tiles(data: ReportData, numbers: Numbers) -> list[Tile]:
    m, win = data.frame("monthly"), data.window
    size = (220, 44)
    nps = tile(numbers, m, "nps", "NPS", win, sub="promoters − detractors, −100…+100", spark_size=size)
    space = _space_tile(data, numbers)
    rate = tile(
        numbers, m, "survey_response_rate", "Survey response rate", win, sub="respondents ÷ people", spark_size=size
    )
    return [t for t in (nps, space, rate) if t is not None]


def _space_tile(data: ReportData, numbers: Numbers) -> Tile | None:
    m = data.frame("monthly")
    rows = complete_rows(
        [r for r in m.rows if r["metric"] == "space_score" and r["value"] is not None], data.window, "month"
    )
    if not rows:
        return Tile("SPACE", "space_score", "–", sub="no survey in the window")
    last = max(r["period_start"] for r in rows)
    cur = sorted((r for r in rows if r["period_start"] == last), key=lambda r: str(r["dimension"]))
    for r in cur:
        numbers.row(m, r)
    bars = [{"label": str(r["dimension"]), "value": r["value"], "text": f"{r['value']:.2f}"} for r in cur]
    spec = charts.bars(bars, x_title="", width=150, height=11 * len(bars), domain=[0, 1])
    spec["encoding"]["x"]["axis"] = None
    mean = sum(r["value"] for r in cur) / len(cur)
    return Tile(
        label="SPACE",
        metric="space_score",
        value=f"{mean:.2f}",
        sub="mean of the dimensions, 0–1",
        question=catalog.get("space_score").question,
        when=fmt_month(last),
        spark=charts.render_svg(spec, "SPACE dimensions, latest survey"),
    )


def adoption_tiles(data: ReportData, numbers: Numbers) -> list[Tile]:
    w, win = data.frame("weekly"), data.window
    tiles = [
        tile(numbers, w, "adoption_rate", "Adoption rate", win, sub="eligible teams active"),
        tile(numbers, w, "active_teams", "Active teams", win, sub="teams with any activity"),
        tile(numbers, w, "activation_rate", "Activation", win, sub="new teams activated"),
        tile(numbers, w, "time_to_value", "Time to value", win, sub="median, first use → first deploy"),
        _retention_tile(data, numbers),
        tile(numbers, w, "churn_rate", "Churn", win, sub="active last week, not this"),
        tile(numbers, w, "support_ratio", "Users helping users", win, sub="support replies by non-owners"),
    ]
    return tiles


def _retention_tile(data: ReportData, numbers: Numbers) -> Tile:
    """Month-1 retention: the share of each monthly cohort still active the month after it started."""
    m, win = data.frame("monthly"), data.window
    rows = [r for r in m.series("retention", offset=1) if r.get("cohort")]
    done = [r for r in rows if win.complete(_month_after(r["cohort"]), "month") and r["value"] is not None]
    meta = catalog.get("retention")
    if not done:
        return Tile("Retention", "retention", "–", sub="no cohort a month old yet", question=meta.question)
    last = done[-1]
    number = numbers.row(m, last)
    spec = charts.sparkline([(r["cohort"], r["value"]) for r in done[-12:]])
    return Tile(
        label="Month-1 retention",
        metric="retention",
        value=fmt_value(last["value"], "ratio"),
        sub=f"people new in {fmt_month(last['cohort'])}, back a month later",
        question=meta.question,
        trend=trend_badge(points(done, "value"), meta.direction),
        spark=charts.render_svg(spec, "month-1 retention per cohort") if spec else None,
        number=number,
    )


def _month_after(iso: str) -> str:
    d = date.fromisoformat(iso[:10])
    return (date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)).isoformat()


def reliability_tiles(data: ReportData, numbers: Numbers) -> list[Tile]:
    w, win = data.frame("weekly"), data.window
    tiles = [_slo_tile(data, numbers, name) for name in w.values("slo", "slo")]
    p95 = tile(numbers, w, "latency_p95", "Latency p95", win)
    others = [latest(complete_rows(w.series(n), win, "week"), win, "week") for n in ("latency_p50", "latency_p99")]
    if all(others):
        for r in others:
            assert r is not None
            numbers.row(w, r)
        p50, p99 = (fmt_value(r["value"], "seconds") for r in others if r is not None)
        p95.sub = f"p50 {p50} · p99 {p99}"
    tiles += [
        tile(numbers, w, "availability", "Availability", win, sub="1 − errors ÷ requests, all services"),
        p95,
        _incidents_tile(data, numbers),
        tile(numbers, w, "mtbf", "MTBF", win, sub="mean time between failures"),
    ]
    return tiles


def _incidents_tile(data: ReportData, numbers: Numbers) -> Tile:
    w, win = data.frame("weekly"), data.window
    t = tile(numbers, w, "incident_count", "Incidents", win, match={"severity": None}, sub="opened per week")
    mttr = latest(complete_rows(w.series("mttr"), win, "week"), win, "week")
    if mttr is not None:
        numbers.row(w, mttr)
        t.sub = f"opened per week · restored in {fmt_value(mttr['value'], 'seconds')} (median)"
    return t


def _slo_tile(data: ReportData, numbers: Numbers, name: str) -> Tile:
    w, win = data.frame("weekly"), data.window
    slo = next((s for s in data.settings.reliability.slos if s.name == name), None)
    rows = complete_rows(w.series("slo", slo=name), win, "week")
    row = latest(rows, win, "week")
    if row is None:
        return Tile(name, "slo", "–", sub="no traffic in the window")
    number = numbers.row(w, row, ("value", "error_budget_remaining", "alert"))
    budget = row.get("error_budget_remaining")
    state = "exhausted" if budget is not None and budget < 0 else (row.get("alert") or "ok")
    objective = f" · objective {fmt_value(slo.objective, 'ratio')}" if slo is not None else ""
    series = [(r["period_start"], r.get("error_budget_remaining")) for r in rows[-26:]]
    spec = charts.sparkline(series, target=0.0)
    return Tile(
        label=f"SLO {name}",
        metric="slo",
        value=fmt_value(row["value"], "ratio"),
        sub=f"budget left {fmt_value(budget, 'ratio')}{objective}",
        question="Error budget remaining, 28-day window (line: budget left; dashed: exhausted)",
        when=when(row["period_start"], "week"),
        badge=status_of(state),
        spark=charts.render_svg(spec, f"error budget of {name}") if spec else None,
        number=number,
    )
