"""The metrics chosen in northstar.yaml ("slots") and their values over time, computed by the catalog.

A slot is one place in the config that names a metric: the North Star, an input, a KPI, a key result or a
behaviour's metric. Its `scope` selects one series of the metric: `team`, `component` or `service` becomes
`--by` and picks that group (`{service: ranker}` = `northstar metrics M --by service`, group `ranker`); any
other key filters an extra column of the metric's rows (e.g. `{severity: sev1}` for `incident_count`).
So every value `check` reports is the value `northstar metrics` prints for the same metric, scope and period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from northstar.config import Settings
from northstar.metrics import catalog
from northstar.metrics.context import Query, shift_period
from northstar.metrics.run import MetricsError, compute

__all__ = ["DIMENSIONS", "Point", "Series", "SeriesError", "SeriesSource", "Slot", "scope_problems", "slots"]

DIMENSIONS = ("team", "component", "service")
Role = Literal["north_star", "input", "kpi", "key_result", "behaviour"]


class SeriesError(ValueError):
    """A slot that cannot be computed as configured (a config problem: exit code 2)."""


@dataclass(frozen=True)
class Slot:
    """One metric named in the config, where it is (`kpis[2].metric`) and how it is scoped."""

    role: Role
    where: str
    metric: str
    scope: Mapping[str, str] = field(default_factory=dict)
    period: str = "week"
    has_target: bool = False

    @property
    def item(self) -> str:
        """The config item (`kpis[2]`) this slot belongs to."""
        return self.where.rsplit(".", 1)[0] if self.role != "behaviour" else self.where


def slots(settings: Settings) -> list[Slot]:
    """Every metric the config names, in file order."""
    out: list[Slot] = []
    ns = settings.north_star
    ns_period = ns.period if ns is not None else "week"
    if ns is not None:
        out.append(Slot("north_star", "north_star.metric", ns.metric, dict(ns.scope), ns.period, ns.target is not None))
    out += [
        Slot("input", f"inputs[{i}].metric", m.metric, dict(m.scope), ns_period, m.target is not None)
        for i, m in enumerate(settings.inputs)
    ]
    out += [
        Slot("kpi", f"kpis[{i}].metric", k.metric, dict(k.scope), k.period, True) for i, k in enumerate(settings.kpis)
    ]
    out += [
        Slot(
            "key_result",
            f"okrs[{i}].key_results[{j}].metric",
            kr.metric,
            dict(kr.scope),
            "quarter",
            True,
        )
        for i, okr in enumerate(settings.okrs)
        for j, kr in enumerate(okr.key_results)
    ]
    out += [
        Slot("behaviour", f"behaviours[{i}].metrics[{j}]", name)
        for i, b in enumerate(settings.behaviours)
        for j, name in enumerate(b.metrics)
    ]
    return out


def scope_problems(metric: catalog.Metric, scope: Mapping[str, str]) -> list[str]:
    """What is wrong with a scope for a metric (empty when it can be computed)."""
    problems = []
    dims = [k for k in scope if k in DIMENSIONS]
    if len(dims) > 1:
        problems.append(f"scope names {' and '.join(dims)}: a metric is broken down by one of team, component, service")
    for k in dims:
        if k not in metric.dims:
            can = ", ".join(metric.dims) or "nothing"
            problems.append(f"{metric.name} cannot be broken down by {k} (it can by: {can})")
    for k in scope:
        if k not in DIMENSIONS and k not in metric.extra:
            keys = ", ".join([*[d for d in DIMENSIONS if d in metric.dims], *metric.extra]) or "none"
            problems.append(f"unknown scope key {k!r} for {metric.name} (scope keys it has: {keys})")
    return problems


@dataclass(frozen=True)
class Point:
    """A metric's value in one period."""

    period_start: date
    value: float | None
    n: int


@dataclass
class Series:
    """A slot's values per period: complete periods (ending on or before `as_of`) and the partial one."""

    metric: str
    scope: Mapping[str, str]
    period: str
    points: list[Point]
    partial: Point | None = None

    @property
    def latest(self) -> Point | None:
        """The latest complete period."""
        return self.points[-1] if self.points else None

    def periods_with_data(self) -> int:
        """Complete periods with a value computed from at least one record."""
        return sum(1 for p in self.points if p.value is not None and p.n > 0)

    def at(self, period_start: date) -> Point | None:
        return next(
            (p for p in [*self.points, *([self.partial] if self.partial else [])] if p.period_start == period_start),
            None,
        )


def period_end(start: date, period: str) -> date:
    """The exclusive end of the period that starts at `start`."""
    return shift_period(datetime(start.year, start.month, start.day), period).date()


class SeriesSource:
    """Computes and caches slot series on one Ibis backend, as `northstar metrics` would (same window)."""

    def __init__(self, con: Any, settings: Settings, as_of: date, *, until: datetime | None = None) -> None:
        self.con = con
        self.settings = settings
        self.as_of = as_of
        self.until = until
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...], str], Series] = {}

    def get(self, metric: str, scope: Mapping[str, str], period: str) -> Series:
        key = (metric, tuple(sorted(scope.items())), period)
        if key not in self._cache:
            self._cache[key] = self._compute(metric, scope, period)
        return self._cache[key]

    def _compute(self, metric: str, scope: Mapping[str, str], period: str) -> Series:
        try:
            m = catalog.get(metric)
        except KeyError as exc:
            raise SeriesError(str(exc.args[0])) from None
        problems = scope_problems(m, scope)
        if problems:
            raise SeriesError(f"{metric}: {problems[0]}")
        by = next((k for k in scope if k in DIMENSIONS), None)
        query = Query(period=period, by=by, until=self.until)  # type: ignore[arg-type]
        try:
            result = compute(self.con, [metric], query, self.settings)
        except MetricsError as exc:
            raise SeriesError(str(exc)) from None
        rows = [r for r in result.rows if all(_matches(r, k, v, by) for k, v in scope.items())]
        if by is None:
            rows = [r for r in rows if r.get("group") is None]
        per: dict[date, list[dict[str, Any]]] = {}
        for r in rows:
            if r.get("period_start") is not None:
                per.setdefault(date.fromisoformat(str(r["period_start"])[:10]), []).append(r)
        for start, rs in per.items():
            if len(rs) > 1:
                extras = [k for k in m.extra if len({str(r.get(k)) for r in rs}) > 1]
                hint = f"add one of {', '.join(extras)} to its scope" if extras else "narrow its scope"
                raise SeriesError(f"{metric} has {len(rs)} values per period (e.g. {start}): {hint}")
        points = [
            Point(start, None if rs[0]["value"] is None else float(rs[0]["value"]), int(rs[0].get("n") or 0))
            for start, rs in sorted(per.items())
        ]
        complete = [p for p in points if period_end(p.period_start, period) <= self.as_of]
        partial = next((p for p in points if period_end(p.period_start, period) > self.as_of), None)
        return Series(metric, dict(scope), period, complete, partial)


def _matches(row: Mapping[str, Any], key: str, value: str, by: str | None) -> bool:
    if key == by:
        return row.get("group") is not None and str(row["group"]) == value
    got = row.get(key)
    return got is not None and str(got) == value
