"""A short scorecard: the headline metric of each part of the framework, this month against last month."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from northstar.metrics.catalog import get
from northstar.metrics.context import Query, shift_period
from northstar.metrics.run import compute, data_extent

__all__ = ["HEADLINE", "scorecard"]

# (section, metric, extra filter) — one headline per question a platform lead asks first
HEADLINE: tuple[tuple[str, str], ...] = (
    ("adoption", "adoption_rate"),
    ("adoption", "active_teams"),
    ("adoption", "activation_rate"),
    ("adoption", "churn_rate"),
    ("adoption", "support_ratio"),
    ("delivery", "deployment_frequency"),
    ("delivery", "lead_time_for_changes"),
    ("delivery", "time_to_deploy"),
    ("delivery", "change_failure_rate"),
    ("delivery", "manual_tasks_to_deploy"),
    ("delivery", "mttr"),
    ("reliability", "availability"),
    ("reliability", "latency_p95"),
    ("reliability", "incident_count"),
    ("satisfaction", "nps"),
)


def scorecard(con: Any, settings: Any, period: str = "month") -> list[dict[str, Any]]:
    """For each headline metric, the last complete period's value, the one before, and which way is better.

    "Complete" means the period ends by the last day of data; periods without a value are skipped;
    for incident_count the total row (severity null) is the one shown.
    """
    names = [m for _, m in HEADLINE]
    result = compute(con, names, Query(period=period), settings)  # type: ignore[arg-type]
    extent = data_extent(con)
    end = extent[1].date() if extent else None
    out: list[dict[str, Any]] = []
    for section, name in HEADLINE:
        m = get(name)
        rows = [r for r in result.rows if r["metric"] == name and all(r.get(k) is None for k in ("severity",))]
        series = sorted((r["period_start"], r["value"]) for r in rows)
        complete = [(p, v) for p, v in series if v is not None and _complete(p, period, end)]
        last = complete[-1] if complete else (None, None)
        prev = complete[-2] if len(complete) > 1 else (None, None)
        out.append(
            {
                "section": section,
                "metric": name,
                "period_start": last[0],
                "value": last[1],
                "previous": prev[1],
                "unit": m.unit,
                "better": "higher" if m.direction == "higher_is_better" else "lower",
            }
        )
    return out


def _complete(period_start: str, period: str, end: date | None) -> bool:
    """Whether the period starting at `period_start` ends by the last day of data `end`."""
    return end is None or shift_period(_dt(period_start), period).date() <= end + timedelta(days=1)


def _dt(iso: str) -> datetime:
    d = date.fromisoformat(iso)
    return datetime(d.year, d.month, d.day)
