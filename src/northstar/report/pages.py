"""The detail pages behind the poster: one chart per question, each with a one-line reading of what it shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from northstar.report import charts
from northstar.report.data import Frame, ReportData
from northstar.report.fmt import duration_scale, fmt_date, fmt_month, fmt_value
from northstar.report.view import Numbers, complete_rows, latest

__all__ = ["Panel", "impact_line", "pages"]

DAY, HOUR, WEEK = 86_400.0, 3_600.0, 604_800.0
W = 440  # chart width; CSS scales charts to the panel width
H3, H2 = 320, 200  # chart heights on pages of three and of two columns
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")
LIFECYCLE_COLORS = ("#0072B2", "#56B4E9", "#009E73", "#E69F00")
SEVERITY_COLORS = ("#D55E00", "#E69F00", "#56B4E9", "#0072B2", "#767676")


@dataclass
class Panel:
    """One chart (or table, or note) of a detail page with the sentence that reads it."""

    title: str
    reading: str
    chart: charts.Chart | None = None
    table: dict[str, Any] | None = None
    note: str = ""
    wide: bool = False
    numbers: list[int] = field(default_factory=list)


def pages(data: ReportData, numbers: Numbers) -> list[dict[str, Any]]:
    """The detail pages, in the order of the sandwich."""
    return [
        {"key": "adoption", "title": "Adoption and engagement", "cols": 3, "panels": adoption_panels(data, numbers)},
        {"key": "delivery", "title": "Delivery: DORA for models", "cols": 3, "panels": delivery_panels(data)},
        {"key": "reliability", "title": "Reliability", "cols": 2, "panels": reliability_panels(data)},
        {
            "key": "satisfaction",
            "title": "Satisfaction, feature store and impact",
            "cols": 2,
            "panels": satisfaction_panels(data) + feature_panels(data) + [impact_panel(data)],
        },
    ]


def _rows(frame: Frame, data: ReportData, metric: str, **match: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in complete_rows(frame.series(metric, **match), data.window, frame.spec.period)]


def _xy(rows: Sequence[Mapping[str, Any]], scale: float = 1.0, key: str = "value") -> list[dict[str, Any]]:
    return [{"t": r["period_start"], "y": r[key] / scale} for r in rows if r.get(key) is not None]


def _first_last(
    rows: Sequence[Mapping[str, Any]], key: str = "value"
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    have = [r for r in rows if r.get(key) is not None]
    return (have[0], have[-1]) if len(have) >= 2 else None


def _empty(title: str, why: str) -> Panel:
    return Panel(title, why, note=why)


# -- adoption -----------------------------------------------------------------------------------------------------


def adoption_panels(data: ReportData, numbers: Numbers) -> list[Panel]:
    return [adoption_curves(data), retention_heatmap(data), funnel(data), lifecycle(data), team_table(data, numbers)]


def adoption_curves(data: ReportData) -> Panel:
    title = "Adoption per component"
    frame = data.frame("components")
    layer = {c.id: c.layer for c in data.assessment.components}
    comps = [c for c in frame.groups("adoption_rate") if layer.get(c, 99) >= 2]
    comps.sort(key=lambda c: (-layer.get(c, 99), c))
    rows = []
    finals: list[tuple[float, str]] = []
    for c in comps:
        series = _rows(frame, data, "adoption_rate", group=c)
        rows += [{**p, "series": c} for p in _xy(series)]
        last = latest(series, data.window, "week")
        if last is not None:
            finals.append((last["value"], c))
    if not rows:
        return _empty(title, "No component above layer 1 has activity in the window.")
    spec = charts.lines(rows, y_title="eligible teams active", y_format=".0%", series_order=comps, width=W, height=H3)
    finals.sort(reverse=True)
    top, low = finals[0], finals[-1]
    reading = (
        f"Share of eligible teams active on each component per week (layers 2–4). Highest now: {top[1]} at "
        f"{top[0]:.0%}; lowest: {low[1]} at {low[0]:.0%}."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def retention_heatmap(data: ReportData) -> Panel:
    title = "Retention by monthly cohort of people"
    frame = data.frame("monthly")
    rows = [r for r in frame.series("retention") if r.get("cohort") is not None and r.get("offset") is not None]
    cells = [
        {
            "row": fmt_month(r["cohort"]),
            "col": int(r["offset"]),
            "value": r["value"],
            "label": "hidden" if r.get("suppressed") else f"{r['value']:.0%}",
            "_c": r["cohort"],
        }
        for r in rows
        if r["value"] is not None or r.get("suppressed")
    ]
    cohorts = sorted({c["_c"] for c in cells})[-12:]
    cells = [c for c in cells if c["_c"] in cohorts and c["col"] <= 11]
    if not cells:
        return _empty(title, "No cohort has started in the window.")
    spec = charts.heatmap(
        cells,
        x_title="months after the first month",
        y_title="cohort (first month)",
        value_title="still active",
        width=W,
        height=H3,
    )
    spec["encoding"]["y"]["sort"] = [fmt_month(c) for c in cohorts]
    one = [c for c in cells if c["col"] == 1 and c["value"] is not None]
    mean1 = sum(c["value"] for c in one) / len(one) if one else None
    reading = "Share of the people who first used the platform in a month who are active k months later."
    if mean1 is not None:
        reading += f" On average {mean1:.0%} come back the month after they start."
    return Panel(title, reading, charts.render_svg(spec, title))


def funnel(data: ReportData) -> Panel:
    title = "Funnel: first use → activation → value"
    frame = data.frame("monthly")
    window = int(data.settings.adoption.funnel_window.total_seconds() // 86_400)
    rows = [r for r in frame.series("funnel") if r.get("step") is not None]
    closed = sorted(
        {
            r["period_start"]
            for r in rows
            if date.fromisoformat(_next_month(r["period_start"])) + timedelta(days=window) <= data.window.last_day
            and (r.get("n") or 0) > 0
        }
    )
    if not closed:
        return _empty(title, "No monthly cohort whose funnel window has closed yet.")
    month = closed[-1]
    steps = sorted((r for r in rows if r["period_start"] == month), key=lambda r: int(r.get("step_index") or 0))
    if any(r.get("suppressed") for r in steps):
        return _empty(title, f"The {fmt_month(month)} cohort is smaller than the privacy threshold: hidden.")
    bar_rows = [
        {"label": str(r["step"]).replace("_", " "), "value": r["value"] or 0.0, "text": fmt_value(r["value"], "ratio")}
        for r in steps
    ]
    spec = charts.bars(bar_rows, x_title="share of people who started", x_format=".0%", domain=[0, 1], height=110)
    entered = steps[0].get("n")
    last = steps[-1]
    reading = (
        f"Of the {entered} people who started in {fmt_month(month)}, {fmt_value(last['value'], 'ratio')} reached "
        f"{str(last['step']).replace('_', ' ')} within {window} days (the latest cohort whose window has closed)."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def _next_month(iso: str) -> str:
    d = date.fromisoformat(iso[:10])
    return (date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)).isoformat()


def lifecycle(data: ReportData) -> Panel:
    title = "Lifecycle of people: new, returning, back, dormant"
    frame = data.frame("monthly")
    rows = [r for r in _rows(frame, data, "lifecycle") if r.get("state") in LIFECYCLE and r["value"] is not None]
    if not any(r["value"] for r in rows):
        return _empty(title, "No activity in the window.")
    months = sorted({r["period_start"] for r in rows})
    bars = [
        {"t": r["period_start"], "t2": _next_month(r["period_start"]), "y": r["value"], "series": r["state"]}
        for r in rows
    ]
    spec = charts.stacked_bars(bars, y_title="people", order=LIFECYCLE, colors=LIFECYCLE_COLORS, width=W, height=H3)
    last = {r["state"]: r["value"] for r in rows if r["period_start"] == months[-1]}
    reading = (
        f"People per month by state (dormant below zero). {fmt_month(months[-1])}: {last.get('new', 0):.0f} new, "
        f"{last.get('returning', 0):.0f} returning, {last.get('resurrecting', 0):.0f} back, "
        f"{abs(last.get('dormant', 0)):.0f} gone dormant."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def team_table(data: ReportData, numbers: Numbers) -> Panel:
    """Per team, the latest complete month: people-based cells are hidden for teams under the privacy size."""
    title = "Per-team adoption"
    frame = data.frame("teams")
    min_size = data.settings.privacy.min_group_size
    months = [r["period_start"] for r in frame.rows if data.window.complete(r["period_start"], "month")]
    if not months:
        return _empty(title, "No complete month in the window.")
    month = max(months)
    cols = (
        ("active_users", "active people", "count"),
        ("usage_frequency", "active days per person", "count"),
        ("deployment_frequency", "deploys", "count"),
        ("lead_time_for_changes", "lead time", "seconds"),
    )
    by_team: dict[str, dict[str, Any]] = {}
    for r in frame.rows:
        if r["period_start"] != month or r.get("group") is None:
            continue
        by_team.setdefault(str(r["group"]), {})[r["metric"]] = r
    body = []
    hidden = 0
    for team in sorted(by_team):
        cells = []
        for metric, _, unit in cols:
            cell = by_team[team].get(metric)
            if cell is None:
                cells.append({"text": "–", "cls": "none"})
            elif cell.get("suppressed"):
                hidden += 1
                cells.append({"text": f"hidden (< {min_size})", "cls": "hidden"})
            else:
                numbers.row(frame, cell)
                cells.append({"text": fmt_value(cell["value"], unit, digits=2), "cls": ""})
        body.append({"team": team, "cells": cells})
    half = (len(body) + 1) // 2
    reading = (
        f"{fmt_month(month)}, one row per team (never per person). Figures computed from fewer than {min_size} "
        f"people are hidden ({hidden} cell(s)), as `privacy.min_group_size` says."
    )
    return Panel(
        title, reading, table={"columns": [c[1] for c in cols], "halves": [body[:half], body[half:]]}, wide=True
    )


# -- delivery -----------------------------------------------------------------------------------------------------


DORA_RULES: dict[str, tuple[tuple[float, str], ...]] = {
    "deployment_frequency": ((5, "≥ 5: elite"), (1, "≥ 1: high"), (7 / 30, "≥ 1 a month: medium")),
    "lead_time_for_changes": ((DAY, "< 1 d: elite"), (7 * DAY, "< 1 wk: high"), (30 * DAY, "< 30 d: medium")),
    "change_failure_rate": ((0.05, "≤ 5%: elite"), (0.10, "≤ 10%: high"), (0.15, "≤ 15%: medium")),
    "failed_deployment_recovery_time": ((HOUR, "< 1 h: elite"), (DAY, "< 1 d: high"), (WEEK, "< 1 wk: medium")),
}


def _band_reading(rows: Sequence[Mapping[str, Any]], unit: str, what: str) -> str:
    have = [r for r in rows if r.get("value") is not None]
    if not have:
        return f"No {what} in the window."
    last = have[-1]
    band = f", DORA band {last['band']}" if last.get("band") else ""
    return f"Per week; latest {fmt_value(last['value'], unit)} ({fmt_date(last['period_start'])}{band})."


def dora_panel(data: ReportData, metric: str, title: str, key: str = "value") -> Panel:
    frame = data.frame("weekly")
    rows = _rows(frame, data, metric)
    have = [r for r in rows if r.get(key) is not None]
    if len(have) < 2:
        return _empty(title, f"Not enough weeks with {metric.replace('_', ' ')} in the window.")
    rules = DORA_RULES[metric]
    if metric in ("lead_time_for_changes", "failed_deployment_recovery_time"):
        scale, name = duration_scale([r[key] for r in have])
        spec = charts.lines(
            _xy(have, scale, key),
            y_title=f"median, {name} (log)",
            rules=[{"y": y / scale, "label": lab} for y, lab in rules],
            log=True,
            width=W,
            height=H3,
        )
        reading = _band_reading(have, "seconds", title.lower())
    elif metric == "change_failure_rate":
        spec = charts.lines(
            _xy(have),
            y_title="failed ÷ deployments",
            y_format=".0%",
            rules=[{"y": y, "label": lab} for y, lab in rules],
            width=W,
            height=H3,
        )
        reading = _band_reading(have, "ratio", "deployments")
    else:
        spec = charts.lines(
            _xy(have, key=key),
            y_title="days with a production deploy",
            rules=[{"y": y, "label": lab} for y, lab in rules],
            width=W,
            height=H3,
        )
        last = have[-1]
        reading = (
            f"Days per week with a succeeded production deploy; latest {last[key]:.0f} "
            f"({fmt_value(last['value'], 'count')} deploys, band {last.get('band') or '–'})."
        )
    return Panel(title, reading + " Dashed lines: DORA 2023 band thresholds.", charts.render_svg(spec, title))


def delivery_panels(data: ReportData) -> list[Panel]:
    panels = [
        dora_panel(data, "deployment_frequency", "Deployment frequency", key="deploy_days"),
        dora_panel(data, "lead_time_for_changes", "Lead time for changes"),
        dora_panel(data, "change_failure_rate", "Change failure rate"),
        dora_panel(data, "failed_deployment_recovery_time", "Failed deployment recovery time"),
        time_to_deploy(data),
        manual_steps(data),
    ]
    return panels


def time_to_deploy(data: ReportData) -> Panel:
    title = "Model ready → served (time to deploy)"
    rows = [r for r in _rows(data.frame("weekly"), data, "time_to_deploy") if r["value"] is not None]
    if len(rows) < 2:
        return _empty(title, "Not enough deployments with model_ready_at in the window.")
    scale, name = duration_scale([r["value"] for r in rows])
    ns = data.settings.north_star
    rules = []
    if ns is not None and ns.metric == "time_to_deploy" and ns.target is not None:
        rules.append({"y": ns.target / scale, "label": f"North Star target {fmt_value(ns.target, 'seconds')}"})
    spec = charts.lines(_xy(rows, scale), y_title=f"median, {name}", rules=rules, width=W, height=H3)
    first, last = rows[0], rows[-1]
    reading = (
        f"Median time from a model being ready to serving in production, per week: "
        f"{fmt_value(first['value'], 'seconds')} in the first week, {fmt_value(last['value'], 'seconds')} in the last."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def manual_steps(data: ReportData) -> Panel:
    title = "Manual steps per deploy"
    rows = [r for r in _rows(data.frame("weekly"), data, "manual_tasks_to_deploy") if r["value"] is not None]
    if len(rows) < 2:
        return _empty(title, "No deployment reports its manual steps.")
    spec = charts.lines(_xy(rows), y_title="mean manual steps", width=W, height=H3)
    reading = (
        f"Mean manual steps per production deployment, per week: {rows[0]['value']:.1f} at the start, "
        f"{rows[-1]['value']:.1f} now."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


# -- reliability ----------------------------------------------------------------------------------------------


def reliability_panels(data: ReportData) -> list[Panel]:
    return [slo_burn_down(data), latency(data), incidents(data), availability(data)]


def slo_burn_down(data: ReportData) -> Panel:
    title = "SLO error budget remaining"
    frame = data.frame("weekly")
    names = [str(n) for n in frame.values("slo", "slo")]
    rows = []
    for n in names:
        rows += [{**p, "series": n} for p in _xy(_rows(frame, data, "slo", slo=n), key="error_budget_remaining")]
    if not rows:
        return _empty(title, "No SLO in the config, or no traffic for them in the window.")
    low = min(r["y"] for r in rows)
    spec = charts.lines(
        rows,
        y_title="budget left (SLO window)",
        y_format=".0%",
        series_order=names,
        rules=[{"y": 0, "label": "budget exhausted"}],
        width=W,
        height=H2,
        y_domain=[-1, 1] if low < -1 else None,
        clip=low < -1,
    )
    out = [
        n
        for n in names
        if (r := latest(_rows(frame, data, "slo", slo=n), data.window, "week")) is not None
        and (r.get("error_budget_remaining") or 0) < 0
    ]
    reading = (
        "Error budget left at the end of each week, over each SLO's window"
        + (" (axis cut at −100%). " if low < -1 else ". ")
        + (f"Exhausted now: {', '.join(out)}." if out else "No budget is exhausted now.")
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def latency(data: ReportData) -> Panel:
    title = "Latency percentiles, all services"
    frame = data.frame("weekly")
    rows = []
    for name in ("latency_p50", "latency_p95", "latency_p99"):
        rows += [{**p, "series": name.split("_")[1]} for p in _xy(_rows(frame, data, name), 0.001)]
    if not rows:
        return _empty(title, "No service samples with latency histograms in the window.")
    spec = charts.lines(
        rows, y_title="milliseconds (log)", series_order=["p50", "p95", "p99"], log=True, width=W, height=H2
    )
    last = {r["series"]: r["y"] for r in rows}
    reading = (
        "Per week, from the summed histograms (never averaged percentiles). Latest: "
        f"p50 {last.get('p50', 0):.0f} ms, p95 {last.get('p95', 0):.0f} ms, p99 {last.get('p99', 0):.0f} ms."
    )
    return Panel(title, reading, charts.render_svg(spec, title))


def incidents(data: ReportData) -> Panel:
    title = "Incidents per week by severity"
    frame = data.frame("weekly")
    sevs = sorted(str(s) for s in frame.values("incident_count", "severity"))
    rows: list[dict[str, Any]] = []
    for s in sevs:
        rows += _rows(frame, data, "incident_count", severity=s)
    if not any(r["value"] for r in rows):
        return _empty(title, "No incident was opened in the window.")
    bars = [
        {
            "t": r["period_start"],
            "t2": (date.fromisoformat(r["period_start"]) + timedelta(days=7)).isoformat(),
            "y": r["value"],
            "series": r["severity"],
        }
        for r in rows
    ]
    spec = charts.stacked_bars(
        bars, y_title="incidents opened", order=sevs, colors=SEVERITY_COLORS[: len(sevs)], width=W, height=H2
    )
    total = sum(r["value"] for r in rows)
    mttr = latest(_rows(frame, data, "mttr"), data.window, "week")
    tail = f" Median time to restore in the latest week: {fmt_value(mttr['value'], 'seconds')}." if mttr else ""
    return Panel(title, f"{total:.0f} incidents in the window.{tail}", charts.render_svg(spec, title))


def availability(data: ReportData) -> Panel:
    title = "Availability, all services"
    rows = [r for r in _rows(data.frame("weekly"), data, "availability") if r["value"] is not None]
    if len(rows) < 2:
        return _empty(title, "No service samples in the window.")
    spec = charts.lines(_xy(rows), y_title="1 − errors ÷ requests", y_format=".2%", zero=False, width=W, height=H2)
    worst = min(rows, key=lambda r: r["value"])
    reading = f"Per week across every service; worst week {fmt_date(worst['period_start'])} at {worst['value']:.2%}."
    return Panel(title, reading, charts.render_svg(spec, title))


# -- satisfaction, feature store, impact ----------------------------------------------------------------------------


def satisfaction_panels(data: ReportData) -> list[Panel]:
    frame = data.frame("monthly")
    nps_rows = [r for r in _rows(frame, data, "nps") if r["value"] is not None]
    out = []
    title = "NPS per survey month"
    if len(nps_rows) >= 1:
        spec = charts.lines(
            _xy(nps_rows),
            y_title="NPS",
            points=True,
            rules=[{"y": 0, "label": "0"}],
            y_domain=[-100, 100],
            width=W,
            height=H2,
        )
        moves = " → ".join(f"{r['value']:+.0f}" for r in nps_rows)
        out.append(
            Panel(title, f"Net promoter score in the months with responses: {moves}.", charts.render_svg(spec, title))
        )
    else:
        out.append(_empty(title, "No NPS responses in the window."))
    title = "SPACE dimensions"
    dims = sorted(str(d) for d in frame.values("space_score", "dimension"))
    rows = []
    for d in dims:
        rows += [{**p, "series": d} for p in _xy(_rows(frame, data, "space_score", dimension=d))]
    if rows:
        spec = charts.lines(rows, y_title="mean score, 0–1", series_order=dims, y_domain=[0, 1], width=W, height=H2)
        last_t = max(r["t"] for r in rows)
        low = min((r for r in rows if r["t"] == last_t), key=lambda r: r["y"])
        out.append(
            Panel(
                title,
                f"Survey means per dimension, normalised to 0–1. Lowest in {fmt_month(last_t)}: "
                f"{low['series']} ({low['y']:.2f}).",
                charts.render_svg(spec, title),
            )
        )
    else:
        out.append(_empty(title, "No SPACE survey responses in the window."))
    return out


def feature_panels(data: ReportData) -> list[Panel]:
    frame = data.frame("weekly")
    reuse = [r for r in _rows(frame, data, "feature_reuse") if r["value"] is not None]
    # freshness is measured at the window's end: the latest row counts even in a partial week
    fresh = [r for r in frame.series("feature_freshness") if r["value"] is not None]
    title = "Feature store: reuse and freshness"
    if not reuse and not fresh:
        return [_empty(title, "No features in the store.")]
    rows = [{**p, "series": "features reused (≥ 2 consumers)"} for p in _xy(reuse)]
    spec = charts.lines(rows, y_title="share of features", y_format=".0%", width=W, height=H2, y_domain=[0, 1])
    reading = ""
    if reuse:
        reading += f"Reuse now {fmt_value(reuse[-1]['value'], 'ratio')} of features. "
    if fresh:
        reading += f"Staleness (p95 since last materialised): {fmt_value(fresh[-1]['value'], 'seconds')}."
    return [Panel(title, reading.strip(), charts.render_svg(spec, title))]


def impact_line(data: ReportData) -> str:
    """One sentence: what the configured initiative changed, against doing nothing, and its ROI."""
    view = data.impact
    r = view.result
    if r is None:
        return view.note
    metric = r.outcome
    eff = r.effect
    rel = r.relative
    by = fmt_date(r.by_date) if r.by_date else "the end of the data"
    text = f"{view.initiative}: {metric.name.replace('_', ' ')} "
    if eff.value is None:
        return text + f"— {r.verdict}"
    text += f"{fmt_value(eff.value, metric.unit)}"
    if rel.value is not None:
        text += f" ({rel.value:+.0%}"
        if rel.low is not None and rel.high is not None:
            text += f", 95% CI {rel.low:+.0%} to {rel.high:+.0%}"
        text += ")"
    text += f" vs doing nothing, by {by}"
    money = r.money
    if money.value is not None and money.value.value is not None:
        text += f"; value {money.value.value:,.0f}"
    if money.roi is not None and money.roi.value is not None:
        text += f", ROI {money.roi.value:+.0%}"
    if not r.reliable:
        text += f" — not reliable: {r.verdict}"
    return text + "."


def impact_panel(data: ReportData) -> Panel:
    title = "Impact: adopters vs doing nothing"
    r = data.impact.result
    if r is None:
        reading = (
            "What a platform initiative changed against doing nothing: difference-in-differences of the teams "
            "that adopted it against those that had not yet."
        )
        return Panel(title, reading, note=data.impact.note)
    unit = r.outcome.unit
    rows = r.counterfactual
    values = [x for row in rows for x in (row.get("observed"), row.get("counterfactual")) if x is not None]
    scale, name = duration_scale(values) if unit == "seconds" else (1.0, r.outcome.unit)
    pts = []
    for row in rows:
        for key, label in (("observed", "adopting teams, observed"), ("counterfactual", "had they not adopted")):
            if row.get(key) is not None:
                pts.append({"t": str(row["period_start"])[:10], "y": row[key] / scale, "series": label})
    if not pts:
        return Panel(title, impact_line(data), note=r.verdict)
    spec = charts.lines(
        pts,
        y_title=f"{r.outcome.name.replace('_', ' ')}, {name}",
        series_order=["adopting teams, observed", "had they not adopted"],
        width=W,
        height=H2,
    )
    return Panel(title, impact_line(data), charts.render_svg(spec, title))
