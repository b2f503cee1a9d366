"""Shared pieces of the simulated organisation: the calendar, id makers and Arrow table assembly.

Times inside the simulation are float seconds since the first day's midnight (UTC); they become
timestamps (whole seconds) only when a table is built, so every generator can use plain numpy arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from northstar.schema import arrow_schema

__all__ = [
    "DAY",
    "DEFAULT_LAST_DAY",
    "HOUR",
    "MINUTE",
    "BoolArray",
    "Calendar",
    "FloatArray",
    "IntArray",
    "build_table",
    "hex_ids",
    "lognormal",
    "seq_ids",
]

DEFAULT_LAST_DAY = date(2026, 10, 31)
"""The last day of simulated data when no start is given: the demo never depends on today's date."""

MINUTE = 60.0
HOUR = 3_600.0
DAY = 86_400.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Calendar:
    """The simulated period: `days` whole UTC days from `start` (the end is exclusive)."""

    start: date
    days: int

    @property
    def end(self) -> date:
        """The first day after the data (exclusive end)."""
        return self.start + timedelta(days=self.days)

    @property
    def seconds(self) -> float:
        return self.days * DAY

    def day(self, fraction: float) -> int:
        """The day index at `fraction` of the period (negative fractions are before the start)."""
        return round(fraction * self.days)

    def weekdays(self) -> IntArray:
        """Weekday (Monday = 0) of every day of the period."""
        return ((self.start.weekday() + np.arange(self.days)) % 7).astype(np.int64)

    def workdays(self) -> BoolArray:
        return self.weekdays() < 5

    def date_of(self, day: float) -> date:
        return self.start + timedelta(days=int(np.floor(day)))

    def dt(self, seconds: float) -> datetime:
        """A naive UTC datetime, rounded to the second."""
        base = datetime(self.start.year, self.start.month, self.start.day)
        return base + timedelta(seconds=round(float(seconds)))

    def iso(self, seconds: float) -> str:
        return self.dt(seconds).isoformat()

    def to_ts(self, seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Seconds since the start → datetime64[us] (whole seconds); NaN → NaT."""
        s = np.asarray(seconds, dtype=np.float64)
        out = np.full(s.shape, np.datetime64("NaT"), dtype="datetime64[us]")
        ok = ~np.isnan(s)
        micros = np.round(s[ok]).astype(np.int64) * 1_000_000
        out[ok] = np.datetime64(self.start, "us") + micros.astype("timedelta64[us]")
        return out

    def to_dates(self, days: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Day indices → datetime64[D]; NaN → NaT."""
        d = np.asarray(days, dtype=np.float64)
        out = np.full(d.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = ~np.isnan(d)
        out[ok] = np.datetime64(self.start, "D") + np.floor(d[ok]).astype(np.int64).astype("timedelta64[D]")
        return out

    def quarter(self, seconds: float) -> str:
        d = self.dt(seconds)
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def lognormal(rng: np.random.Generator, median: npt.ArrayLike, sigma: float, size: int | None = None) -> FloatArray:
    """Log-normal draws with the given median(s)."""
    med = np.asarray(median, dtype=np.float64)
    n = size if size is not None else med.shape
    return np.asarray(med * np.exp(sigma * rng.standard_normal(n)), dtype=np.float64)


def seq_ids(prefix: str, n: int, width: int | None = None) -> pa.Array:
    """`prefix0001`, `prefix0002`, … as an Arrow string array."""
    w = width if width is not None else max(4, len(str(n)))
    nums = pc.utf8_lpad(pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string()), width=w, padding="0")
    return pc.binary_join_element_wise(prefix, nums, "")


def hex_ids(rng: np.random.Generator, n: int, width: int = 12) -> list[str]:
    """`n` distinct git-sha-like hex strings (an odd multiplier is a bijection modulo 16**width)."""
    bits = 4 * width
    mask = (1 << bits) - 1
    mult = (0x9E3779B97F4A7C15 & mask) | 1
    offset = int(rng.integers(0, 1 << 40))
    return [format((i * mult + offset) & mask, f"0{width}x") for i in range(n)]


def build_table(kind: str, n: int, columns: Mapping[str, Any]) -> pa.Table:
    """An Arrow table with exactly the storage schema of `kind`; columns not given are all null."""
    schema = arrow_schema(kind)
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise KeyError(f"{kind}: unknown columns {sorted(unknown)}")
    arrays: list[pa.Array] = []
    for field in schema:
        value = columns.get(field.name)
        if value is None:
            arr = pa.nulls(n, field.type)
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arr = value.cast(field.type)
        else:
            arr = pa.array(value, type=field.type, from_pandas=True)
        if len(arr) != n:
            raise ValueError(f"{kind}.{field.name}: {len(arr)} values for {n} rows")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)
