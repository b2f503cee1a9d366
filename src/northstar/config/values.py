"""Values in northstar.yaml: durations (`250ms` … `4w`), ratios (`60%`), targets (`2d` → seconds), quarters.

Each parser is a pydantic `BeforeValidator`, so a bad value is reported at its line like any other error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

__all__ = [
    "Duration",
    "LocatedErrors",
    "Money",
    "Name",
    "Period",
    "Quarter",
    "Ratio",
    "Rollout",
    "Scope",
    "Seconds",
    "Target",
    "Window",
    "format_duration",
    "parse_duration",
]

_UNITS: dict[str, timedelta] = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_UNIT_WORDS = {
    **{w: "ms" for w in ("ms", "msec", "millisecond", "milliseconds")},
    **{w: "s" for w in ("s", "sec", "secs", "second", "seconds")},
    **{w: "m" for w in ("m", "min", "mins", "minute", "minutes")},
    **{w: "h" for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: "d" for w in ("d", "day", "days")},
    **{w: "w" for w in ("w", "wk", "wks", "week", "weeks")},
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")


def parse_duration(text: str) -> timedelta:
    """`250ms`, `90s`, `30m`, `24h`, `14d`, `4w` (or combinations such as `1h30m`) → timedelta."""
    raw = str(text).strip()
    pos, total, parts = 0, timedelta(0), 0
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if match is None:
            break
        word = match.group(2)
        if word == "M" or word.lower() in {"mo", "mon", "month", "months", "y", "yr", "year", "years"}:
            raise ValueError(
                f"not a duration: {text!r}: months and years vary in length; write days (e.g. 30d), "
                "or `window: calendar_month` for an SLO"
            )
        unit = _UNIT_WORDS.get(word.lower())
        if unit is None:
            break
        total += _UNITS[unit] * float(match.group(1))
        pos, parts = match.end(), parts + 1
    if parts == 0 or pos != len(raw):
        raise ValueError(f"not a duration: {text!r} (write a number and a unit: 250ms, 90s, 30m, 24h, 14d, 4w)")
    return total


def format_duration(value: timedelta) -> str:
    """Exact text for a duration, read back by parse_duration: 14 days → `14d`, 24 hours → `24h`, 0.25 s → `250ms`."""
    ms = round(value / timedelta(milliseconds=1))
    if ms == 0:
        return "0s"
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    out = []
    units = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))
    for unit, size in units if ms >= 2 * 86_400_000 else units[1:]:
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return sign + "".join(out)


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        raise ValueError(f"write a duration with a unit (e.g. {value}d or {value}h), got a bare number {value!r}")
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be longer than zero, got {format_duration(value)}")
    return value


def _seconds(value: Any) -> Any:
    """A time in seconds: a number of seconds or a duration (`250ms`, `1s`)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return parse_duration(value).total_seconds()
    return value


def _decimal(text: str) -> Decimal | None:
    """A finite decimal number, or None."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _ratio(value: Any) -> Any:
    """A number, or a percentage written `60%` (→ 0.6)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%") and (percent := _decimal(text[:-1].strip())) is not None:
            return float(percent / 100)
        if (number := _decimal(text)) is not None:
            return float(number)
        raise ValueError(f"not a number: {value!r} (write e.g. 0.6 or 60%)")
    return value


def _target(value: Any) -> Any:
    """A metric value: a number, a percentage (`60%`) or a duration (`2d` → 172800 seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        try:
            return _ratio(value)
        except ValueError:
            pass
        try:
            return parse_duration(value).total_seconds()
        except ValueError:
            raise ValueError(f"expected a number, a percentage (60%) or a duration (2d), got {value!r}") from None
    return value


def _scope(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items() if v is not None}
    return value


def _quarter(value: Any) -> Any:
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*", value)):
        return f"{m.group(1)}-Q{m.group(2)}"
    if isinstance(value, str) and (m := re.fullmatch(r"\s*[Qq]([1-4])\s*[- ]?\s*(\d{4})\s*", value)):
        return f"{m.group(2)}-Q{m.group(1)}"
    raise ValueError(f"not a quarter: {value!r} (write e.g. 2026-Q1)")


def _rollout(value: Any) -> Any:
    """`{team: date, …}` (staggered rollout) or one date for every team."""
    if isinstance(value, dict):
        out = {}
        for team, day in value.items():
            try:
                out[str(team)] = date.fromisoformat(str(day))
            except ValueError:
                raise ValueError(f"team {team!r}: not an ISO date: {day!r} (write e.g. 2026-02-01)") from None
        return out
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"not a date or a mapping of team → date: {value!r} (write e.g. 2026-02-01 or {{search: 2026-02-01}})"
        ) from None


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
Window = Annotated[Duration, AfterValidator(_positive)]
Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
Ratio = Annotated[float, BeforeValidator(_ratio)]
Target = Annotated[float, BeforeValidator(_target)]
Scope = Annotated[dict[str, str], BeforeValidator(_scope)]
Name = Annotated[str, Field(min_length=1)]
Money = Annotated[float, Field(ge=0)]
Period = Literal["day", "week", "month", "quarter"]
Quarter = Annotated[str, BeforeValidator(_quarter)]
Rollout = Annotated[dict[str, date] | date, BeforeValidator(_rollout)]


class LocatedErrors(ValueError):
    """Problems found by a cross-field check, each at a location relative to the model that raised it."""

    def __init__(self, items: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(msg for _, msg in items))
        self.items = list(items)
