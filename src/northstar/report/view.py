"""Shared pieces of the poster and the pages: the register of shown numbers, tiles, trends and statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from northstar.framework.series import Point
from northstar.framework.targets import trend
from northstar.metrics import catalog
from northstar.report import charts
from northstar.report.data import Frame, Window
from northstar.report.fmt import fmt_month, fmt_value, fmt_week

__all__ = ["STATUS", "Numbers", "Tile", "latest", "status_of", "tile", "trend_badge"]

# Extra columns that tell one row of a metric from another in the same period.
IDENTITY = ("key", "slo", "severity", "dimension", "cohort", "offset", "step", "state")

# status word → (class, symbol): the symbol carries the meaning without colour (greyscale print)
STATUS: dict[str, tuple[str, str]] = {
    "ok": ("good", "✓"),
    "met": ("good", "✓"),
    "on track": ("good", "✓"),
    "achieved": ("good", "✓"),
    "elite": ("good", "◆"),
    "high": ("good", "▲"),
    "medium": ("warn", "●"),
    "low": ("bad", "▼"),
    "warn": ("warn", "!"),
    "ticket": ("warn", "!"),
    "behind": ("warn", "!"),
    "not met": ("warn", "!"),
    "breach": ("bad", "✗"),
    "page": ("bad", "✗"),
    "exhausted": ("bad", "✗"),
    "off track": ("bad", "✗"),
    "missed": ("bad", "✗"),
}


def status_of(word: str | None) -> dict[str, str]:
    """`{"word", "cls", "symbol"}` for a status word (neutral for words without a meaning)."""
    w = word or "no data"
    cls, symbol = STATUS.get(w, ("none", "–"))
    return {"word": w.replace("_", " "), "cls": cls, "symbol": symbol}


@dataclass
class Numbers:
    """Every number the report shows, with where it comes from, embedded as JSON for checks and tests."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def row(self, frame: Frame, r: Mapping[str, Any], shown: Sequence[str] = ("value",)) -> int:
        """Record a metric row shown from `frame` (the fields in `shown` are displayed)."""
        item: dict[str, Any] = {
            "source": "metrics",
            "set": frame.spec.key,
            "metric": r["metric"],
            "period": r["period"],
            "by": r.get("by"),
            "group": r.get("group"),
            "period_start": r["period_start"],
        }
        item.update({k: r[k] for k in IDENTITY if r.get(k) is not None})
        item["shown"] = {k: r.get(k) for k in shown}
        self.items.append(item)
        return len(self.items) - 1

    def check(self, where: str, metric: str, scope: Mapping[str, str], period: str, current: Mapping[str, Any]) -> int:
        """Record a value that `northstar check` reports (North Star, input, KPI)."""
        self.items.append(
            {
                "source": "check",
                "where": where,
                "metric": metric,
                "scope": dict(scope),
                "period": period,
                "period_start": current.get("period_start"),
                "shown": {"value": current.get("value")},
            }
        )
        return len(self.items) - 1


@dataclass
class Tile:
    """One metric on the poster: label, value, what it is, its trend and a sparkline."""

    label: str
    metric: str
    value: str
    sub: str = ""
    question: str = ""
    when: str = ""
    badge: dict[str, str] | None = None
    trend: dict[str, Any] | None = None
    spark: charts.Chart | None = None
    number: int | None = None
    extra: list[tuple[str, str]] = field(default_factory=list)


def complete_rows(rows: Sequence[Mapping[str, Any]], window: Window, period: str) -> list[Mapping[str, Any]]:
    """The rows of complete periods (ending inside the window)."""
    return [r for r in rows if window.complete(r["period_start"], period)]


def latest(rows: Sequence[Mapping[str, Any]], window: Window, period: str) -> Mapping[str, Any] | None:
    """The latest complete period's row with a value (None when no complete period has one)."""
    done = [r for r in complete_rows(rows, window, period) if r.get("value") is not None]
    return done[-1] if done else None


def points(rows: Sequence[Mapping[str, Any]], key: str = "value") -> list[Point]:
    return [Point(date.fromisoformat(r["period_start"]), r.get(key), int(r.get("n") or 0)) for r in rows]


def trend_badge(pts: Sequence[Point], direction: str) -> dict[str, Any] | None:
    """The framework's trend over the last 8 periods, as an arrow and a word (`↗ improving`)."""
    tr = trend(pts, direction)
    if tr["direction"] is None:
        return None
    arrow = {"up": "↗", "down": "↘", "flat": "→"}[tr["direction"]]
    word = {True: "improving", False: "worsening", None: "flat"}[tr["improving"]]
    cls = {True: "good", False: "bad", None: "none"}[tr["improving"]]
    return {"arrow": arrow, "word": word, "cls": cls}


def when(period_start: str, period: str) -> str:
    return fmt_week(period_start) if period == "week" else fmt_month(period_start)


def tile(
    numbers: Numbers,
    frame: Frame,
    metric: str,
    label: str,
    window: Window,
    *,
    group: str | None = None,
    match: Mapping[str, Any] | None = None,
    key: str = "value",
    unit: str | None = None,
    sub: str = "",
    spark_last: int = 26,
    spark_size: tuple[int, int] = (130, 26),
    target: float | None = None,
) -> Tile:
    """A tile for the latest complete period of `metric` in `frame`, with its trend and sparkline."""
    m = catalog.get(metric)
    period = frame.spec.period
    rows = complete_rows(frame.series(metric, group, **(match or {})), window, period)
    row = latest(rows, window, period)
    u = unit or m.unit
    if row is None:
        return Tile(label, metric, "–", sub="no data in the window", question=m.question)
    shown = ["value"] if key == "value" else ["value", key]
    if "band" in row:
        shown.append("band")
    number = numbers.row(frame, row, shown)
    series = [r for r in rows if r["period_start"] <= row["period_start"]]
    spark_spec = charts.sparkline(
        [(r["period_start"], r.get(key)) for r in series[-spark_last:]],
        target=target,
        width=spark_size[0],
        height=spark_size[1],
    )
    return Tile(
        label=label,
        metric=metric,
        value=fmt_value(row.get(key), u),
        sub=sub,
        question=m.question,
        when=when(row["period_start"], period),
        badge=status_of(row["band"]) if row.get("band") else None,
        trend=trend_badge(points(series, key), m.direction),
        spark=charts.render_svg(spark_spec, f"{label}: last {min(spark_last, len(series))} periods")
        if spark_spec
        else None,
        number=number,
    )
