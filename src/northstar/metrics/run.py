"""Run catalog metrics on an Ibis backend: execute, fill the period grid, apply privacy, shape the rows.

The shape is DESIGN.md §6: `{"rows": [{"metric", "period", "period_start", "by", "group", "value", "n",
...extras, "suppressed"?}], "warnings": [...]}`.

One `compute` call is one run: each metric's expression is executed once, with its data-warning checks in
the same query; a check that an earlier metric of the run already computed is not computed again. On DuckDB,
`northstar.metrics.pipeline` also computes once the parts that several metrics hold, and runs the queries in
worker threads while this thread makes each metric's rows as soon as its result is ready; on any other engine
the metrics run one after another (`_serial`: a whole earlier result that a later metric contains is reused).
Rows are shaped column by column; the answers are the same either way.
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import compress, filterfalse, product, repeat
from operator import itemgetter
from typing import Any, cast

import ibis
import numpy as np
import pandas as pd
from ibis.common.graph import Graph

from northstar.metrics import catalog, pipeline
from northstar.metrics.context import Context, Query, period_floor, period_starts

__all__ = ["MetricsError", "Result", "compute", "data_extent"]

# the timestamp that places each kind's records in time (for the default window)
EVENT_TIME: dict[str, str] = {
    "activity": "ts",
    "changes": "created_at",
    "deployments": "finished_at",
    "incidents": "opened_at",
    "service_samples": "ts",
    "survey_responses": "ts",
    "support_messages": "ts",
}


class MetricsError(ValueError):
    """A query the catalog cannot answer (unknown metric, unsupported breakdown, …)."""


@dataclass
class Result:
    """Rows in the DESIGN.md §6 shape, plus data warnings."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "warnings": self.warnings}


def data_extent(con: Any) -> tuple[datetime, datetime] | None:
    """The first and last event time over every kind with a timestamp (None for an empty store)."""
    parts = []
    for kind, col in EVENT_TIME.items():
        t = con.table(kind)
        parts.append(t.select(ts=t[col].cast("timestamp")))
    u = ibis.union(*parts)
    row = con.execute(u.aggregate(lo=u.ts.min(), hi=u.ts.max()))
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        return None
    return pd.Timestamp(lo).to_pydatetime(), pd.Timestamp(hi).to_pydatetime()


def _window(con: Any, query: Query) -> tuple[datetime, datetime]:
    since, until = query.since, query.until
    if since is None or until is None:
        extent = data_extent(con)
        if extent is None:
            now = datetime.now().replace(microsecond=0)
            extent = (now, now)
        lo, hi = extent
        since = since or period_floor(lo, query.period)
        until = until or (hi + timedelta(microseconds=1))
    if until <= since:
        raise MetricsError(f"--until ({until:%Y-%m-%d}) must be after --since ({since:%Y-%m-%d})")
    return since, until


def _is_midnight(ts: datetime) -> bool:
    return ts == datetime(ts.year, ts.month, ts.day)


def whole_days(query: Query, since: datetime, until: datetime) -> bool:
    """Whether the window [since, until) of `query` holds whole UTC days of data (`Context.whole_days`): since
    is a midnight, and until is a midnight or was not given (then it lies after the last event)."""
    return _is_midnight(since) and (query.until is None or _is_midnight(until))


def _select(names: Sequence[str] | None, category: str | None, by: str | None) -> list[catalog.Metric]:
    if names:
        metrics = []
        for n in names:
            try:
                m = catalog.get(n)
            except KeyError as exc:
                raise MetricsError(str(exc.args[0])) from None
            if category and m.category != category:
                raise MetricsError(f"metric {n!r} is in category {m.category!r}, not {category!r}")
            if by and by not in m.dims:
                opts = ", ".join(m.dims) or "none"
                raise MetricsError(f"metric {n!r} cannot be broken down by {by} (it can by: {opts})")
            metrics.append(m)
        return metrics
    if category and category not in catalog.CATEGORIES:
        raise MetricsError(f"unknown category {category!r}; use one of {', '.join(catalog.CATEGORIES)}")
    return [catalog.get(n) for n in catalog.names(category) if by is None or by in catalog.get(n).dims]


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


_PLAIN = frozenset({str, type(None)})
_SCALARS = frozenset({str, type(None), int, bool, float})
_DATETIMES = (np.dtype("datetime64[s]"), np.dtype("datetime64[ms]"), np.dtype("datetime64[us]"))
_NONE: Any = None


def _column(s: pd.Series) -> list[Any]:
    """The values of a result column as plain Python objects, a missing value (NaN, NaT, None) as None:
    column-wise for the types an engine returns, `_clean` value by value for anything else."""
    dtype = s.dtype
    if isinstance(dtype, np.dtype):
        a = s.to_numpy()
        if dtype.kind in "iub":
            return list(a.tolist())
        if dtype.kind == "f":
            missing = np.isnan(a)
            if missing.any():
                o = a.astype(object)
                o[missing] = None
                return list(o.tolist())
            return list(a.tolist())
        if dtype in _DATETIMES:
            return list(a.astype("datetime64[us]").tolist())  # datetime, NaT → None
        if dtype.kind == "O":
            values = list(a.tolist())
            types = set(map(type, values))
            if types <= _PLAIN:
                return values
            if types <= _SCALARS:
                return [None if v.__class__ is float and v != v else v for v in values]
            return [_clean(v) for v in values]
    elif isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA:
        return list(s.to_numpy(dtype=object, na_value=_NONE).tolist())
    return [_clean(v) for v in s]


def _iso(values: list[Any]) -> list[Any]:
    """Datetimes as ISO dates, every other value as it is."""
    try:
        stamps = {v for v in set(values) if isinstance(v, datetime)}
    except TypeError:  # an unhashable value
        stamps = None
    if stamps is not None and all(v.tzinfo is None for v in stamps):
        if not stamps:
            return values
        # equal naive datetimes have the same date: convert each distinct one once
        memo = {v: v.date().isoformat() for v in stamps}
        return list(map(memo.get, values, values))
    return [v.date().isoformat() if isinstance(v, datetime) else v for v in values]


def _no_data(v: Any) -> bool:
    return v in (None, 0)


def _whole_as_int(values: list[Any]) -> list[Any]:
    """Each whole number (a float like 3.0) as an int, every other value as it is: column-wise when the
    values are all finite floats (the usual case for counts), value by value otherwise."""
    if set(map(type, values)) == {float}:
        a = np.array(values, dtype=np.float64)
        if np.isfinite(a).all() and (a == np.trunc(a)).all() and (np.abs(a) < 2.0**63).all():
            return list(a.astype(np.int64).tolist())
    return [int(v) if v is not None and float(v).is_integer() else v for v in values]


IDENTITY_EXTRAS = frozenset({"cohort", "offset", "step", "step_index", "state", "key", "slo", "severity", "dimension"})
# rows sort by metric, period_start, group, then these (every identity extra: rows never tie, so their order
# does not depend on the order an engine returns them in)
SORT_EXTRAS = ("cohort", "offset", "step", "state", "key", "slo", "severity", "dimension")


@dataclass
class _Block:
    """One metric's output rows, column by column in output key order, with the columns it sorts by."""

    metric: str
    keys: list[str]
    columns: list[Column]
    sort: list[list[Any]]  # the sort key after the metric: period_start or "", group or "", str(extras)…
    _rows: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        if not self.columns:
            return 0
        first = self.columns[0]
        return first.size if isinstance(first, _Same) else len(first)

    def rows(self) -> list[dict[str, Any]]:
        """The rows, sorted (stable); made once, and then the columns are let go (freeing them costs time too:
        the runner makes each block's rows while the engine works on later metrics)."""
        if self._rows is None:
            rows = _dicts(self.keys, self.columns)
            order = _order(self.sort, len(rows))
            self._rows = rows if order is None else list(map(rows.__getitem__, order))
            self.columns, self.sort = [], []
        return self._rows


@dataclass(frozen=True)
class _Same:
    """A column with one value in every one of its `size` rows (the metric's name, the period, a filled cell's
    value): rows copy it from a template instead of taking it from a list."""

    value: Any
    size: int

    def values(self) -> list[Any]:
        return [self.value] * self.size


Column = list[Any] | _Same


def _values(column: Column) -> list[Any]:
    return column.values() if isinstance(column, _Same) else column


def _dicts(keys: Sequence[str], columns: Sequence[Column]) -> list[dict[str, Any]]:
    """The rows of `columns` (one per key, equally long) as dicts with the keys in order: each a copy of a
    template holding the `_Same` columns' values, with the other fields set (a dict copy and a few stores are
    faster than a dict display of every key, 0.2–0.3 µs against 0.36 µs a row, and make the same dicts)."""
    template = {k: c.value if isinstance(c, _Same) else None for k, c in zip(keys, columns, strict=True)}
    varying = [i for i, c in enumerate(columns) if not isinstance(c, _Same)]
    if not varying:
        size = columns[0].size if columns and isinstance(columns[0], _Same) else 0
        copy = template.copy
        return [copy() for _ in range(size)]
    return _filler(tuple(keys[i] for i in varying))(template.copy, *(columns[i] for i in varying))


@lru_cache(maxsize=256)
def _filler(keys: tuple[str, ...]) -> Callable[..., list[dict[str, Any]]]:
    """A function of a template's `copy` and one list per key that makes one copy per row with the keys set."""
    args = [f"_{i}" for i in range(len(keys))]
    stores = "; ".join(f"d[{k!r}] = {a}" for k, a in zip(keys, args, strict=True))
    src = (
        f"def fill(copy, {', '.join(args)}):\n"
        f"    rows = []\n"
        f"    add = rows.append\n"
        f"    for {', '.join(args)}{',' if len(args) == 1 else ''} in zip({', '.join(args)}):\n"
        f"        d = copy(); {stores}; add(d)\n"
        f"    return rows\n"
    )
    space: dict[str, Any] = {}
    exec(src, space)  # the source holds only the keys' reprs and generated names
    return cast(Callable[..., list[dict[str, Any]]], space["fill"])


def _ranks(values: list[Any]) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each value's rank among the distinct values (equal values share one): the order of a sort key."""
    rank = {v: i for i, v in enumerate(sorted(set(values)))}
    return np.fromiter(map(rank.__getitem__, values), dtype=np.int64, count=len(values))


def _order(sort: list[list[Any]], size: int) -> list[int] | None:
    """The stable sort order of rows by the key columns `sort` (None when they are in order already)."""
    if not sort or size < 2:
        return None
    try:
        order = np.lexsort([_ranks(c) for c in reversed(sort)])  # a stable sort, first column first
    except TypeError:  # unhashable or incomparable key values: Python's sort decides (or raises)
        keys = list(zip(*sort, strict=True))
        result = sorted(range(size), key=keys.__getitem__)
        return result
    if (order[1:] > order[:-1]).all():
        return None
    return list(order.tolist())


def _or_empty(values: list[Any]) -> list[Any]:
    """`v or ""` for every value."""
    if set(map(type, values)) <= _PLAIN:
        return [v or "" for v in values] if None in values or "" in values else values
    return [v or "" for v in values]


def _str(values: list[Any]) -> list[str]:
    return values if set(map(type, values)) <= {str} else list(map(str, values))


def _fill_base(m: catalog.Metric) -> dict[str, Any]:
    """What a filled grid cell holds: a null value (0 for counts, and 0 for the count's extras), n = 0."""
    base: dict[str, Any] = {"value": 0.0 if m.is_count else None, "n": 0}
    if m.is_count:
        base.update({k: 0 for k in m.extra})
    return base


def _grid_cells(
    m: catalog.Metric,
    fills: list[dict[str, Any]],
    cols: dict[str, list[Any]],
    size: int,
    periods: list[datetime],
    groups: list[Any],
) -> dict[str, list[Any]]:
    """The rows that fill the grid, column by column (`people?`: whether the row has a `people` field):
    one for every period × group × fill key that has no row, with a null value (0 for counts, and 0 for the
    count's extras), n = 0 and the fill key's fields."""
    base = _fill_base(m)
    fields = ["period_start", "group", "value", "n", "people", *m.extra]
    keys = list(fills[0])
    none = [None] * size
    fill_key = zip(*(cols.get(k, none) for k in keys), strict=True) if keys else repeat((), size)
    have = set(zip(cols["period_start"], cols["group"], fill_key, strict=False))  # repeat() is endless
    fill_values = [tuple(f.values()) for f in fills]
    out: dict[str, list[Any]] = {}
    if all(list(f) == keys for f in fills) and not {"period_start", "group"} & set(keys):
        # every fill has the same keys (the usual case): the cells are (period, group, fill values)
        cells = list(filterfalse(have.__contains__, product(periods, groups, fill_values)))
        for f in fields:
            if f in keys:
                j = keys.index(f)
                out[f] = [fv[j] for _, _, fv in cells]
            elif f == "period_start":
                out[f] = list(map(itemgetter(0), cells))
            elif f == "group":
                out[f] = list(map(itemgetter(1), cells))
            else:
                out[f] = [base.get(f)] * len(cells)
        out["people?"] = ["people" in keys or "people" in base] * len(cells)
        return out
    # fills of different keys, or fills that set the period or the group
    found = [(p, g, i) for p in periods for g in groups for i, fv in enumerate(fill_values) if (p, g, fv) not in have]
    for f in fields:
        out[f] = [
            fills[i][f] if f in fills[i] else p if f == "period_start" else g if f == "group" else base.get(f)
            for p, g, i in found
        ]
    out["people?"] = ["people" in fills[i] or "people" in base for _, _, i in found]
    return out


def _metric_rows(
    m: catalog.Metric,
    ctx: Context,
    df: pd.DataFrame,
    periods: list[datetime],
    first: datetime,
    until: datetime,
    min_group: int,
) -> _Block:
    """One metric's result frame in the output shape, column-wise: keep the rows of the window's periods,
    fill the period grid (`m.gridded`), apply privacy suppression, shape and sort the rows.

    Fill: every period × group seen (× fill key) without a row gets one with a null value (0 for counts,
    and 0 for the count's extras) and n = 0. Privacy: a row computed from fewer than `min_group` people
    shows neither its value, nor its `n`, nor any extra that is not part of the row's identity."""
    starts = df["period_start"]
    if starts.dtype in _DATETIMES and first.tzinfo is None and until.tzinfo is None:  # the usual case: numpy
        a = starts.to_numpy()
        inside = np.isnat(a) | ((a >= np.datetime64(first)) & (a < np.datetime64(until)))
        if not inside.all():
            df = df[inside]
        cols: dict[str, list[Any]] = {str(c): _column(df[c]) for c in df.columns}
    else:
        cols = {str(c): _column(df[c]) for c in df.columns}
        keep = [p is None or first <= p < until for p in cols["period_start"]]
        if not all(keep):
            cols = {c: list(compress(v, keep)) for c, v in cols.items()}
    size = len(cols["period_start"])
    has_people = "people" in cols
    fields = ["period_start", "group", "value", "n", "people", *m.extra]
    # the row fields: frame rows first (a field the frame lacks is None), then the grid's filled rows
    data: dict[str, list[Any]] = {f: cols[f] if f in cols else [None] * size for f in fields}
    people_here: list[bool] = [has_people] * size

    if m.gridded:
        fills: list[dict[str, Any]] = [dict(f) for f in (m.fill(ctx) if m.fill else [{}])]
        groups = sorted(set(cols["group"]) - {None}) if ctx.by else [None]
        fast = _grid_in_order(m, ctx, data, size, has_people, periods, groups, fills, min_group)
        if fast is not None:
            return fast
        added = _grid_cells(m, fills, cols, size, periods, groups)
        for f in fields:
            data[f] = data[f] + added[f]
        people_here = people_here + added["people?"]

    out = _shape(m, ctx, data, people_here, m.people_based or any(people_here), min_group)
    sort = [
        _or_empty(_values(out["period_start"])),
        _or_empty(_values(out["group"])),
        *(_str(_values(out[k])) for k in SORT_EXTRAS if k in out),
    ]
    return _Block(m.name, list(out), list(out.values()), sort)


def _shape(
    m: catalog.Metric,
    ctx: Context,
    data: dict[str, list[Any]],
    people_here: list[bool],
    from_people: bool,
    min_group: int,
) -> dict[str, Column]:
    """The output columns (in output key order) of the rows in `data`: counts as ints, dates as ISO dates,
    privacy suppression (`people_here`: whether each row carries a `people` count)."""
    rows = len(people_here)
    value = data["value"]
    if m.unit == "count":
        value = _whole_as_int(value)
    n: list[Any] = data["n"] if set(map(type, data["n"])) == {int} else [int(v or 0) for v in data["n"]]
    extras = {k: _iso(data[k]) for k in m.extra}
    suppressed: list[bool] = []
    if from_people:
        others = [data[k] for k in m.extra if k not in IDENTITY_EXTRAS]
        people = data["people"]
        suppressed = [False] * rows  # a row without people (a filled cell, usually) is never suppressed
        for i in compress(range(rows), people_here):
            p = people[i]
            if (value[i] is not None or n[i] > 0 or any(not _no_data(o[i]) for o in others)) and (
                p is None or int(p) < min_group
            ):
                suppressed[i] = True
        if any(suppressed):
            value = [None if h else v for h, v in zip(suppressed, value, strict=True)]
            n = [None if h else v for h, v in zip(suppressed, n, strict=True)]
            for k in m.extra:
                if k not in IDENTITY_EXTRAS:
                    extras[k] = [None if h else v for h, v in zip(suppressed, extras[k], strict=True)]
    out: dict[str, Column] = {
        "metric": _Same(m.name, rows),
        "period": _Same(ctx.period, rows),
        "period_start": _iso(data["period_start"]),
        "by": _Same(ctx.by, rows),
        "group": data["group"],
        "value": value,
        "n": n,
    }
    out.update(extras)
    if from_people:
        out["suppressed"] = suppressed if any(suppressed) else _Same(False, rows)
    return out


def _grid_in_order(
    m: catalog.Metric,
    ctx: Context,
    data: dict[str, list[Any]],
    size: int,
    has_people: bool,
    periods: list[datetime],
    groups: list[Any],
    fills: list[dict[str, Any]],
    min_group: int,
) -> _Block | None:
    """The usual gridded metric, without sorting: when the fill keys are extras, among them every sort extra the
    metric has, and the frame has at most one row per period × group × key, all inside the grid, and no two keys
    tie in sort order, the sorted rows are the
    cells of the grid period × group × key in order (periods, then groups, then keys in sort order; the keys
    are the fills' and the frame's), each the frame's row, or a filled one where a fill's key has no row, or
    none. The same rows as `_grid_cells` and the sort; None when the case does not hold.

    Cells are integer codes (numpy), so that the Python work per row is making its dict."""
    keys = list(fills[0])
    sort_extras = [k for k in SORT_EXTRAS if k in m.extra]
    if any(list(f) != keys for f in fills) or not set(sort_extras) <= set(keys) <= set(m.extra) - {"people"}:
        return None
    # the keys of the grid: the fills' (first: a frame key equal to one is that key), then the frame's,
    # in sort order (each key's fields as strings, in SORT_EXTRAS order); a tie in that order: no shortcut
    one = len(keys) == 1
    fill_values = [f[keys[0]] for f in fills] if one else [tuple(f.values()) for f in fills]
    frame_keys = (data[keys[0]] if one else list(zip(*(data[k] for k in keys), strict=True))) if keys else None
    try:
        universe = list(dict.fromkeys([*fill_values, *(frame_keys or ())]))
    except TypeError:  # an unhashable key value
        return None
    position = [keys.index(k) for k in sort_extras]

    def order(v: Any) -> tuple[str, ...]:
        fields = (v,) if one else v
        return tuple(str(_iso([fields[j]])[0]) for j in position)

    order_keys = {v: order(v) for v in universe}
    if len(set(order_keys.values())) != len(universe):
        return None
    universe.sort(key=order_keys.__getitem__)
    n_p, n_g, n_k = len(periods), len(groups), len(universe)
    # each frame row's cell: (period × groups + group) × keys + key; -1 when outside the grid
    code = _codes(data["period_start"], periods, size)
    for col, values in ((data["group"], groups), (frame_keys, universe)):
        if code is None:
            return None
        index = _codes(col, values, size) if col is not None else np.zeros(size, np.int64)
        code = None if index is None else code * len(values) + index
    if code is None:
        return None
    cells = n_p * n_g * n_k
    at = np.full(cells, -1, np.int64)
    at[code] = np.arange(size, dtype=np.int64)
    if int(np.count_nonzero(at >= 0)) != size:  # two rows in one cell
        return None
    fillable = np.zeros(n_k, bool)
    fillable[[universe.index(v) for v in fill_values]] = True
    empty = (at < 0) & np.tile(fillable, n_p * n_g)
    shown = at >= 0
    shown |= empty
    filled_cells = np.flatnonzero(empty)

    from_people = m.people_based or (has_people and size > 0)
    out = _shape(m, ctx, data, [has_people] * size, from_people, min_group)
    # the filled cells: the fill's base values and the fill key
    base = _fill_base(m)
    count = len(filled_cells)
    value = base["value"]
    if m.unit == "count":
        value = _whole_as_int([value])[0]
    key_at = (filled_cells % n_k).tolist()
    filled: dict[str, Column] = {
        "metric": _Same(m.name, count),
        "period": _Same(ctx.period, count),
        "period_start": list(map(_iso(list(periods)).__getitem__, (filled_cells // (n_g * n_k)).tolist())),
        "by": _Same(ctx.by, count),
        "group": list(map(groups.__getitem__, (filled_cells // n_k % n_g).tolist())),
        "value": _Same(value, count),
        "n": _Same(0, count),
    }
    for k in m.extra:
        if k in keys:
            j = keys.index(k)
            iso = _iso([v if one else v[j] for v in universe])
            filled[k] = list(map(iso.__getitem__, key_at))
        else:
            filled[k] = _Same(base.get(k), count)
    if from_people:
        filled["suppressed"] = _Same(False, count)
    assert list(filled) == list(out)  # the same keys, in the same order, by construction
    rows = _dicts(list(out), list(out.values()))
    rows.extend(_dicts(list(filled), list(filled.values())))
    # the shown cells in order: the frame's row where there is one, else the next filled row
    pick = at[shown]
    pick[pick < 0] = np.arange(size, size + count, dtype=np.int64)
    block = _Block(m.name, list(out), [], [])
    block._rows = list(map(rows.__getitem__, pick.tolist()))
    return block


def _codes(values: list[Any] | None, domain: list[Any], size: int) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """Each value's position in `domain` (distinct values); None when a value is not in it."""
    if values is None:
        return None
    where = {v: i for i, v in enumerate(domain)}
    try:
        codes = np.fromiter(map(where.get, values, repeat(-1)), dtype=np.int64, count=size)
    except TypeError:  # an unhashable value
        return None
    return None if size and int(codes.min()) < 0 else codes


def _sorted_rows(blocks: list[_Block]) -> list[dict[str, Any]]:
    """The rows of every block, sorted by metric, period_start, group and the identity extras (SORT_EXTRAS;
    a stable sort: rows that tie keep their order)."""
    by_metric: dict[str, list[_Block]] = {}
    for b in blocks:
        by_metric.setdefault(b.metric, []).append(b)
    rows: list[dict[str, Any]] = []
    for name in sorted(by_metric):
        parts = by_metric[name]
        if len(parts) == 1:
            rows.extend(parts[0].rows())
        else:  # the same metric asked for twice: its rows sort together
            merged = [r for p in parts for r in p.rows()]
            merged.sort(key=_sort_key)
            rows.extend(merged)
    return rows


def _sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["metric"],
        r["period_start"] or "",
        r["group"] or "",
        *(str(r.get(k, "")) for k in SORT_EXTRAS),
    )


def compute(
    con: Any,
    names: Sequence[str] | None = None,
    query: Query | None = None,
    settings: Any = None,
    *,
    category: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Compute catalog metrics (all of them, or `names`, or one `category`) on the Ibis backend `con`.
    `progress(name)` is called as each metric's result is turned into rows (in the order they are ready)."""
    with _unfused_sql(), _gc_paused():
        return _compute(con, names, query, settings, category=category, progress=progress)


@contextlib.contextmanager
def _unfused_sql() -> Iterator[None]:
    """Ibis compiles without merging nested SELECTs into one (`ibis.options.sql.fuse_selects`): that pass is
    about 40% of the compile time of the catalog's queries, and the engines' optimizers merge them anyway (the
    scorecard's DuckDB time is the same either way: bench/README.md). The SQL differs, the results do not."""
    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


def _compute(
    con: Any,
    names: Sequence[str] | None,
    query: Query | None,
    settings: Any,
    *,
    category: str | None,
    progress: Callable[[str], None] | None,
) -> Result:
    if settings is None:
        from northstar.config import Settings

        settings = Settings()
    query = query or Query()
    if query.by not in (None, "team", "component", "service"):
        raise MetricsError(f"--by must be team, component or service, not {query.by!r}")
    metrics = _select(names, category, query.by)
    since, until = _window(con, query)
    periods = [p for p in period_starts(since, until, query.period)]
    first = period_floor(since, query.period)
    whole = whole_days(query, since, until)
    min_group = int(getattr(getattr(settings, "privacy", None), "min_group_size", 5))
    tables: dict[str, Any] = {}
    memo: dict[Any, Any] = {}
    built: list[tuple[catalog.Metric, Context, Any]] = []
    checks = _Checks(con)
    # DuckDB: each metric goes to the pipeline as soon as it is built (its shared parts start computing)
    pipe = _Claims(pipeline.Pipeline(con)) if pipeline.supported(con) else None
    try:
        for m in metrics:
            if query.unit and m.units and query.unit not in m.units:
                if names:
                    raise MetricsError(f"metric {m.name!r} has no --unit {query.unit} (it has: {', '.join(m.units)})")
                continue
            ctx = Context(
                con=con,
                settings=settings,
                query=query,
                window_start=since,
                window_end=until,
                whole_days=whole,
                tables=tables,
                memo=memo,
            )
            built.append((m, ctx, m.compute(ctx)))
            if pipe:
                pipe.add(built[-1][2], ctx.checks)
    except BaseException:
        if pipe:
            pipe.pipe.close(interrupt=True)
        raise
    result = Result()
    blocks: list[_Block | None] = [None] * len(built)
    outcomes = pipe.results(checks) if pipe else _serial(checks, built)
    with contextlib.closing(outcomes):  # on an error: no more queries
        for i, df in outcomes:  # in the order they are ready
            m, ctx, _ = built[i]
            if progress:
                progress(m.name)
            block = blocks[i] = _metric_rows(m, ctx, df, periods, first, until, min_group)
            block.rows()  # now, while the engine works on the next metrics
        if any(b is None for b in blocks):  # pragma: no cover - every metric's result comes back once
            raise RuntimeError("a metric's result is missing")
        # the data warnings, in metric order: from the values the queries brought, the rest computed now
        for m, ctx, _ in built:
            counts = checks.run([scalar for scalar, _ in ctx.checks])
            for n, (_, message) in zip(counts, ctx.checks, strict=True):
                if n:
                    result.warnings.append(f"{m.name}: " + message.format(n=int(n)))
        result.rows = _sorted_rows([b for b in blocks if b is not None])
    return result


def _serial(checks: _Checks, built: list[tuple[catalog.Metric, Context, Any]]) -> Generator[tuple[int, pd.DataFrame]]:
    """Each metric's result (with its position), one query after another on the caller's connection (any
    engine)."""
    shared = _Shared()
    for i, (_, ctx, expr) in enumerate(built):
        df = checks.execute(shared.rewrite(expr), [scalar for scalar, _ in ctx.checks])
        shared.add(expr, df)
        yield i, df


class _Claims:
    """Feeds a `pipeline.Pipeline` (DuckDB): each new integer check is claimed by the first metric that has it
    and computed in that metric's query; the values that come back go to the run's `_Checks`."""

    def __init__(self, pipe: pipeline.Pipeline) -> None:
        self.pipe = pipe
        self.claimed: set[Any] = set()

    def add(self, expr: Any, checks: Sequence[tuple[Any, str]]) -> None:
        query, names, keys = _riders(expr, [s for s, _ in checks], self.claimed)
        self.claimed.update(keys)
        self.pipe.add(expr, query, names, keys)

    def results(self, checks: _Checks) -> Generator[tuple[int, pd.DataFrame]]:
        """Each metric's result (with its position), as soon as it is ready."""
        outcomes = self.pipe.results()
        with contextlib.closing(outcomes):
            for i, df, counts in outcomes:
                checks.done.update(counts)
                yield i, df


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a `compute` call (one collection after it instead): the rows are
    lists and dicts of plain values (no reference cycles), and the hundreds of thousands of them, with the
    Ibis expressions of the call, would otherwise set off repeated collections of everything the process
    holds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Shared:
    """The results of the metrics computed so far in one `compute` call. A later metric whose expression
    contains an earlier metric's whole expression (dora_band contains lead_time_for_changes,
    change_failure_rate and failed_deployment_recovery_time) reads that result instead of computing it again.
    Ibis expressions compare by structure, so "contains" is exact: the same tables, filters, window and
    settings."""

    def __init__(self) -> None:
        self.results: dict[Any, tuple[Any, pd.DataFrame]] = {}

    def add(self, expr: Any, df: pd.DataFrame) -> None:
        with contextlib.suppress(AttributeError, TypeError):  # not an Ibis table: nothing to share
            self.results[expr.op()] = (expr.schema(), df)

    def rewrite(self, expr: Any) -> Any:
        """`expr` with every earlier result it contains replaced by that result (as an in-memory table)."""
        if not self.results:
            return expr
        try:
            nodes = Graph.from_bfs(expr.op())
        except AttributeError:
            return expr
        found = {n: self.results[n] for n in nodes if n in self.results}
        if not found:
            return expr
        tables = {n: ibis.memtable(df, schema=schema).op() for n, (schema, df) in found.items()}
        return expr.op().replace(tables).to_expr()


class _Checks:
    """The data-warning scalars of one `compute` call: each distinct one executed once (several metrics
    share checks, e.g. dora_band repeats the lead-time and recovery-time ones), and a metric's new integer
    checks executed in the metric's own query (they count over the same intermediate tables, which the
    engine then computes once), or together as one single-row query."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.done: dict[Any, Any] = {}

    @staticmethod
    def _key(scalar: Any) -> Any:
        """The scalar's expression (Ibis nodes compare and hash by structure); None when it has none."""
        try:
            key = scalar.op()
            hash(key)
        except (AttributeError, TypeError):
            return None
        return key

    def execute(self, expr: Any, scalars: Sequence[Any]) -> pd.DataFrame:
        """The result of the metric expression `expr`, computing its new integer `scalars` on the way: each
        check is a column added to every row (a cross join with their single row), and dropped again."""
        query, names, keys = _riders(expr, scalars, self.done)
        df, counts = with_riders(self._frame, expr, query, names, keys)
        self.done.update(counts)
        return df

    def _frame(self, expr: Any) -> pd.DataFrame:
        df: pd.DataFrame = self.con.execute(expr)
        return df

    def run(self, scalars: Sequence[Any]) -> list[Any]:
        """The value of each scalar, in order."""
        keys = [self._key(s) for s in scalars]
        todo = {k: s for k, s in zip(keys, scalars, strict=True) if k is not None and k not in self.done}
        together = {k: s for k, s in todo.items() if _is_integer_scalar(s)}
        if len(together) > 1:
            with contextlib.suppress(Exception):  # an engine that cannot combine them: one query each, below
                self.done.update(self._together(together))
        for k, s in todo.items():
            if k not in self.done:
                self.done[k] = self.con.execute(s)
        return [self.con.execute(s) if k is None else self.done[k] for k, s in zip(keys, scalars, strict=True)]

    def _together(self, scalars: dict[Any, Any]) -> dict[Any, Any]:
        names = [f"_check{i}" for i in range(len(scalars))]
        first, *rest = scalars.values()
        df = self.con.execute(_with_scalars(first.name(names[0]).as_table(), names[1:], rest))
        if len(df) != 1:
            raise ValueError("the combined checks did not give one row")
        return _counts(df.iloc[0], scalars, names)


def _riders(expr: Any, scalars: Iterable[Any], skip: Any) -> tuple[Any, list[str], list[Any]]:
    """The checks among `scalars` that ride on the metric's own query: the integer ones whose key is not in
    `skip` (computed already, or claimed by an earlier metric). Returns `expr` with them as extra columns
    (None when there are none, or their names would clash with the metric's columns), their column names and
    their keys."""
    todo = {}
    for s in scalars:
        k = _Checks._key(s)
        if k is not None and k not in skip and _is_integer_scalar(s):
            todo[k] = s
    names = [f"_northstar_check{i}" for i in range(len(todo))]
    if not todo or set(names) & set(expr.columns):
        return None, [], []
    return _with_scalars(expr, names, todo.values()), names, list(todo)


def with_riders(
    execute: Callable[[Any], pd.DataFrame], expr: Any, query: Any, names: Sequence[str], keys: Sequence[Any]
) -> tuple[pd.DataFrame, dict[Any, Any]]:
    """`expr`'s result and its riding checks' values (by key) from `query` (`_riders`), run with `execute`;
    `expr` alone, with no values, when there is no `query` or the engine cannot compute it. A result without
    rows brings no values either (those checks then run on their own)."""
    if query is not None:
        try:
            both = execute(query)
        except Exception:  # the engine cannot combine them: the metric alone (its checks run one by one)
            pass
        else:
            counts = _counts(both.iloc[0], keys, names) if len(both) else {}
            return both[list(expr.columns)], counts
    return execute(expr), {}


def _with_scalars(t: Any, names: Sequence[str], scalars: Iterable[Any]) -> Any:
    """`t` with each scalar as a column `names[i]` on every row (a cross join with its single row)."""
    for name, s in zip(names, scalars, strict=True):
        t = t.cross_join(s.name(name).as_table())
    return t


def _counts(row: pd.Series, keys: Iterable[Any], names: Sequence[str]) -> dict[Any, Any]:
    """The check values of a result row by check key: an int, or None where the engine gave null."""
    return {k: None if pd.isna(row[name]) else int(row[name]) for k, name in zip(keys, names, strict=True)}


def _is_integer_scalar(scalar: Any) -> bool:
    try:
        return bool(scalar.type().is_integer())
    except AttributeError:
        return False


def rows_by_metric(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group result rows by metric name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["metric"], []).append(r)
    return out
