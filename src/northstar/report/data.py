"""Gather everything the report shows, computing each metric once.

The report's numbers come from four calls of the metric catalog (`MetricSet`s: weekly totals, monthly
survey and cohort metrics, weekly adoption per component, monthly per-team figures), all over one window,
plus the framework's assessment and check (which compute the North Star, inputs, KPIs and key results the
way `northstar check` does) and, when an initiative is configured, its impact estimate. Every value is the
value `northstar metrics` prints for the same metric, period, breakdown and window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from northstar.config import Settings
from northstar.framework import Assessment, CheckReport, SeriesError, SeriesSource, assess, lint, run_check
from northstar.metrics import MetricsError, Query, catalog, compute
from northstar.metrics.context import shift_period
from northstar.metrics.run import data_extent

__all__ = ["SETS", "Frame", "ImpactView", "MetricSet", "ReportData", "ReportError", "Window", "gather"]


class ReportError(ValueError):
    """The report cannot be made as asked (empty store, bad window, a config the check rejects)."""

    def __init__(self, message: str, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


@dataclass(frozen=True)
class MetricSet:
    """One `compute` call: these metrics on one period grid, breakdown and unit of analysis."""

    key: str
    names: tuple[str, ...]
    period: str
    by: str | None = None
    unit: str | None = None

    def cli_args(self, window: Window) -> list[str]:
        """The `northstar metrics` arguments that print the same rows."""
        args = [*self.names, "--period", self.period, "--since", window.since_text, "--until", window.until_text]
        if self.by:
            args += ["--by", self.by]
        if self.unit:
            args += ["--unit", self.unit]
        return args


SETS: tuple[MetricSet, ...] = (
    MetricSet(
        "weekly",
        (
            # adoption and engagement
            "adoption_rate",
            "active_teams",
            "activation_rate",
            "time_to_value",
            "churn_rate",
            "support_ratio",
            "time_to_first_answer",
            # delivery (the DORA keys carry their band)
            "deployment_frequency",
            "lead_time_for_changes",
            "change_failure_rate",
            "failed_deployment_recovery_time",
            "time_to_deploy",
            "manual_tasks_to_deploy",
            # reliability
            "slo",
            "availability",
            "latency_p50",
            "latency_p95",
            "latency_p99",
            "incident_count",
            "mttr",
            "mtbf",
            # feature store
            "feature_reuse",
            "feature_freshness",
        ),
        "week",
    ),
    # cohorts of people (the engagement view); surveys have no unit of analysis
    MetricSet(
        "monthly",
        ("nps", "space_score", "survey_response_rate", "retention", "lifecycle", "funnel"),
        "month",
        unit="user",
    ),
    MetricSet("components", ("adoption_rate",), "week", by="component"),
    MetricSet(
        "teams",
        ("active_users", "usage_frequency", "deployment_frequency", "lead_time_for_changes"),
        "month",
        by="team",
        unit="user",
    ),
)


@dataclass(frozen=True)
class Window:
    """The half-open window [since, until) every metric of the report is computed over."""

    since: datetime
    until: datetime
    until_given: bool = False

    @property
    def since_text(self) -> str:
        return self.since.date().isoformat()

    @property
    def until_text(self) -> str:
        return self.until.date().isoformat()

    @property
    def last_day(self) -> date:
        return (self.until - timedelta(microseconds=1)).date()

    def complete(self, period_start: str, period: str) -> bool:
        """Whether the period starting on `period_start` ends inside the window."""
        d = date.fromisoformat(period_start[:10])
        return shift_period(datetime(d.year, d.month, d.day), period) <= self.until


@dataclass
class Frame:
    """The rows of one metric set, with lookups by metric, group and extra columns."""

    spec: MetricSet
    rows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    def series(self, metric: str, group: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """The rows of `metric` for one group (None: the total) whose extras equal `match`, by period."""
        out = [
            r
            for r in self.rows
            if r["metric"] == metric and r.get("group") == group and all(r.get(k) == v for k, v in match.items())
        ]
        return sorted(out, key=lambda r: (r["period_start"], str(r.get("offset", "")), str(r.get("step_index", ""))))

    def groups(self, metric: str) -> list[str]:
        return sorted({str(r["group"]) for r in self.rows if r["metric"] == metric and r.get("group") is not None})

    def values(self, metric: str, key: str) -> list[Any]:
        """The distinct values of the extra column `key` among `metric`'s rows, in first-seen order."""
        seen: dict[Any, None] = {}
        for r in self.rows:
            if r["metric"] == metric and r.get(key) is not None:
                seen.setdefault(r[key], None)
        return list(seen)


@dataclass
class ImpactView:
    """The ROI line and counterfactual chart: an estimate, or why there is none."""

    initiative: str | None = None
    result: Any = None  # northstar.impact.ImpactResult
    note: str = ""


@dataclass
class ReportData:
    """Everything the poster and the detail pages show."""

    platform: str
    window: Window
    settings: Settings
    frames: dict[str, Frame]
    assessment: Assessment
    check: CheckReport
    impact: ImpactView
    generated_at: datetime
    timings: dict[str, float] = field(default_factory=dict)

    def frame(self, key: str) -> Frame:
        return self.frames[key]

    @property
    def warnings(self) -> list[str]:
        return [w for f in self.frames.values() for w in f.warnings]


def resolve_window(con: Any, since: datetime | None, until: datetime | None) -> Window:
    """`--since` / `--until`, defaulting to the first day of data and midnight after the last one."""
    extent = data_extent(con)
    if extent is None:
        raise ReportError("the store holds no events yet: run `northstar demo` or `northstar ingest KIND FILE` first")
    lo, hi = extent
    start = since or datetime(lo.year, lo.month, lo.day)
    end = until or datetime(hi.year, hi.month, hi.day) + timedelta(days=1)
    if end <= start:
        raise ReportError(f"--until ({end:%Y-%m-%d}) must be after --since ({start:%Y-%m-%d})")
    return Window(start, end, until_given=until is not None)


def _compute_set(con: Any, settings: Settings, spec: MetricSet, window: Window) -> Frame:
    query = Query(period=spec.period, by=spec.by, unit=spec.unit, since=window.since, until=window.until)  # type: ignore[arg-type]
    try:
        result = compute(con, list(spec.names), query, settings)
    except MetricsError as exc:
        raise ReportError(str(exc)) from None
    return Frame(spec, result.rows, result.warnings)


def _check(con: Any, settings: Settings, window: Window) -> tuple[Assessment, CheckReport]:
    """The framework's assessment and check, judged as `northstar check --as-of UNTIL` would."""
    until = window.until if window.until_given else None
    a = assess(con, settings, until=until)
    as_of = window.until.date() if window.until_given else (a.as_of or window.until.date())
    src = SeriesSource(con, settings, as_of, until=until)
    report = lint(settings, assessment=a, series=src, as_of=as_of)
    if report.config_errors:
        problems = [f.text(settings.source) for f in report.config_errors]
        raise ReportError(f"{len(problems)} problem(s) in the config; the first: {problems[0]}", problems)
    try:
        return a, run_check(settings, src, report)
    except SeriesError as exc:
        raise ReportError(f"{settings.source or 'config'}: {exc}") from None


def impact_outcome(settings: Settings) -> str:
    """The outcome an initiative is judged on: the North Star when it can be measured per team."""
    catalog.names()
    ns = settings.north_star
    if ns is not None and ns.metric in catalog.REGISTRY and "team" in catalog.REGISTRY[ns.metric].dims:
        return ns.metric
    return "lead_time_for_changes"


def _impact(con: Any, settings: Settings, window: Window) -> ImpactView:
    if not settings.initiatives:
        return ImpactView(
            note="no initiative configured: add `initiatives: [{name: …, component: …}]` to northstar.yaml "
            "to see what it changed against doing nothing, and its ROI"
        )
    initiative = settings.initiatives[0].name
    try:
        from northstar.impact import ImpactError, estimate
    except ImportError:
        return ImpactView(initiative, note="impact estimates are not available in this installation")
    try:
        result = estimate(
            con, impact_outcome(settings), initiative=initiative, settings=settings, by_date=window.last_day
        )
    except ImpactError as exc:
        return ImpactView(initiative, note=str(exc))
    return ImpactView(initiative, result=result)


def gather(
    con: Any,
    settings: Settings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportData:
    """Compute everything the report shows on the Ibis backend `con`."""
    timings: dict[str, float] = {}
    window = resolve_window(con, since, until)
    frames: dict[str, Frame] = {}
    for spec in SETS:
        if progress:
            progress(f"{spec.key} metrics")
        t0 = time.perf_counter()
        frames[spec.key] = _compute_set(con, settings, spec, window)
        timings[spec.key] = time.perf_counter() - t0
    if progress:
        progress("assessment and check")
    t0 = time.perf_counter()
    assessment, check = _check(con, settings, window)
    timings["check"] = time.perf_counter() - t0
    if progress:
        progress("impact")
    t0 = time.perf_counter()
    impact = _impact(con, settings, window)
    timings["impact"] = time.perf_counter() - t0
    return ReportData(
        platform=settings.platform.name,
        window=window,
        settings=settings,
        frames=frames,
        assessment=assessment,
        check=check,
        impact=impact,
        generated_at=datetime.now().replace(microsecond=0),
        timings=timings,
    )
