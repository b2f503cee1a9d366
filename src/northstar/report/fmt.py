"""Numbers for people: how the report writes a metric's value, a change and a date."""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["duration_scale", "fmt_date", "fmt_delta", "fmt_duration", "fmt_month", "fmt_value", "fmt_week"]

_DURATIONS: tuple[tuple[float, str], ...] = ((86_400.0, "d"), (3_600.0, "h"), (60.0, "min"), (1.0, "s"))


def fmt_value(value: float | None, unit: str | None, *, digits: int = 3) -> str:
    """`41%` for ratios, `2.3 d` for durations, `1,204` for counts, `+29` for NPS-like scores."""
    if value is None:
        return "–"
    if unit == "ratio":
        pct = value * 100
        if 90 <= abs(pct) < 100:  # availability-like: the decimals are the story
            return f"{pct:.2f}%"
        return f"{pct:.0f}%" if abs(pct) >= 10 or pct == 0 else f"{pct:.1f}%"
    if unit == "seconds":
        return fmt_duration(value)
    if unit == "per_second":
        return f"{value:,.3g}/s"
    if unit == "score":
        return f"{value:+.0f}" if abs(value) >= 1 else f"{value:.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def fmt_duration(seconds: float) -> str:
    """A duration in the largest unit that keeps it ≥ 1: `2.3 d`, `5.1 h`, `12 min`, `220 ms`."""
    s = abs(seconds)
    sign = "−" if seconds < 0 else ""
    if s < 1:
        return f"{sign}{s * 1000:.0f} ms"
    for size, name in _DURATIONS:
        if s >= size:
            v = s / size
            return f"{sign}{v:.1f} {name}" if v < 10 else f"{sign}{v:.0f} {name}"
    return f"{sign}{s:.1f} s"


def duration_scale(values: list[float]) -> tuple[float, str]:
    """The unit (seconds per unit, label) a chart of these durations reads best in."""
    finite = sorted(abs(v) for v in values if v is not None)
    if not finite:
        return 1.0, "seconds"
    mid = finite[len(finite) // 2]
    for size, name in ((86_400.0, "days"), (3_600.0, "hours"), (60.0, "minutes"), (1.0, "seconds")):
        if mid >= 2 * size:
            return size, name
    return (0.001, "milliseconds") if mid < 1 else (1.0, "seconds")


def fmt_delta(value: float | None, previous: float | None, unit: str | None) -> str:
    """The change from `previous` to `value`: points for ratios, a relative change otherwise."""
    if value is None or previous is None:
        return ""
    if unit == "ratio":
        pts = (value - previous) * 100
        return f"{pts:+.1f} pts" if abs(pts) < 10 else f"{pts:+.0f} pts"
    if unit == "score":
        return f"{value - previous:+.0f}"
    if previous == 0:
        return f"{value - previous:+,.3g}"
    rel = (value - previous) / abs(previous) * 100
    return f"{rel:+.0f}%"


def fmt_date(d: date | datetime | str | None) -> str:
    """`31 Oct 2026`."""
    if d is None:
        return "–"
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    return f"{d.day} {d:%b %Y}"


def fmt_week(d: date | str) -> str:
    """`week of 26 Oct 2026`."""
    return f"week of {fmt_date(d)}"


def fmt_month(d: date | str) -> str:
    """`Oct 2026`."""
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    return f"{d:%b %Y}"
