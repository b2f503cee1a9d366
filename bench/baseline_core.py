"""Shared pieces of the pandas baseline: the run's data and window, time buckets, groups, Parquet loading.

Internally a timestamp is float microseconds since the epoch (NaN = null; exact for these dates), a day or a
week is an integer number of days since 1970-01-01 (a week by its Monday) and a duration is seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
NULL = ""  # the group of rows without a breakdown (becomes None in the output)


@dataclass
class Bench:
    """The data (pandas frames), the window and the settings of one run."""

    frames: dict[str, pd.DataFrame]
    since: datetime
    until: datetime
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def lo(self) -> int:
        return _day(self.since)

    @property
    def hi(self) -> int:
        return _day(self.until)

    @property
    def weeks(self) -> np.ndarray:
        first = self.lo - (self.lo + 3) % 7
        return np.arange(first, self.hi, 7, dtype=np.int64)

    def get(self, key: str, default: Any) -> Any:
        return self.settings.get(key, default)


def _day(d: datetime) -> int:
    return (d - datetime(1970, 1, 1)).days


def _us(d: datetime) -> int:
    return int((d - datetime(1970, 1, 1)).total_seconds() * US_PER_S)


def _day(d: datetime) -> int:
    return (d - datetime(1970, 1, 1)).days


def _us(d: datetime) -> int:
    return int((d - datetime(1970, 1, 1)).total_seconds() * US_PER_S)


# -- loading and time buckets ---------------------------------------------------------------------------

CATEGORICAL = {"actor", "team", "component", "action", "service", "environment", "status", "severity"}


def load(data: Path) -> dict[str, pd.DataFrame]:
    """Read every kind's Parquet file (low-cardinality strings as categoricals); timestamps become float
    microseconds since the epoch (NaN for null)."""
    frames = {}
    for path in sorted(data.glob("*.parquet")):
        names = pq.read_schema(path).names
        table = pq.read_table(path, read_dictionary=[c for c in names if c in CATEGORICAL])
        df = table.to_pandas(date_as_object=False)
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype) or str(df[c].dtype).startswith("datetime64"):
                df[c] = _ts_us(df[c])
        frames[path.stem] = df
    return frames


def _ts_us(s: pd.Series) -> pd.Series:
    """datetime64 → float microseconds since the epoch (NaN for null); float keeps nulls vectorised."""
    v = s.to_numpy(dtype="datetime64[us]").astype(np.int64).astype(np.float64)
    v[s.isna().to_numpy()] = np.nan
    return pd.Series(v, index=s.index)


def _days(us: pd.Series | np.ndarray) -> np.ndarray:
    """Day numbers of microsecond timestamps (a null becomes 0: callers mask nulls themselves)."""
    return np.floor(np.nan_to_num(np.asarray(us, dtype=np.float64)) / US_PER_DAY).astype(np.int64)


def _week(us: pd.Series | np.ndarray) -> np.ndarray:
    d = _days(us)
    return d - (d + 3) % 7  # 1970-01-01 was a Thursday


def _in(b: Bench, us: pd.Series) -> pd.Series:
    return (us >= _us(b.since)) & (us < _us(b.until))


def _grp(df: pd.DataFrame, by: str | None, col: str | None = None) -> pd.Series:
    if by is None:
        return pd.Series(NULL, index=df.index)
    return df[col or by].astype(object).where(df[col or by].notna(), None).fillna(NULL).astype(str)


def _by_week(df: pd.DataFrame, ts: pd.Series, by: str | None, col: str | None = None) -> pd.DataFrame:
    return df.assign(wk=_week(ts), group=_grp(df, by, col).to_numpy())


def _in_weeks(b: Bench, wk: pd.Series) -> pd.Series:
    return (wk >= b.weeks[0]) & (wk <= b.weeks[-1])


def _iso(days: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype(str).astype(object)
