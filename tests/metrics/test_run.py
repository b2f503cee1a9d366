"""The runner (`northstar.metrics.run`): its column-wise row shaping gives exactly the rows of the plain
per-row implementation it replaced (kept below as the reference), and a run executes each data-warning check
once.

The reference is the runner as it was before it was vectorised: one dict per result row, `_clean` on every
value, the grid filled cell by cell, privacy and shaping row by row, one stable sort. Exactly the same rows
means the same keys in the same order, the same Python types (an `int` is not a `float`), None for every
missing value and the same order of rows, ties included.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, catalog, compute, run
from northstar.metrics.context import Context, period_floor, period_starts
from tests.metrics import golden
from tests.metrics.golden import Case, load_cases, tables

# -- the reference: the per-row runner ---------------------------------------------------------------------


def _ref_clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return _ref_clean(v.item())
    return v


def _ref_frame_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [{c: _ref_clean(v) for c, v in zip(cols, rec, strict=True)} for rec in df.itertuples(index=False, name=None)]


def _ref_grid_fill(
    m: catalog.Metric, ctx: Context, rows: list[dict[str, Any]], periods: list[datetime]
) -> list[dict[str, Any]]:
    fills: list[dict[str, Any]] = [dict(f) for f in (m.fill(ctx) if m.fill else [{}])]
    groups = sorted({r["group"] for r in rows if r["group"] is not None}) if ctx.by else [None]
    have = {(r["period_start"], r["group"], *(r.get(k) for k in fills[0])) for r in rows}
    out = list(rows)
    for p in periods:
        for g in groups:
            for f in fills:
                key = (p, g, *f.values())
                if key in have:
                    continue
                row: dict[str, Any] = {"period_start": p, "group": g, "value": 0.0 if m.is_count else None, "n": 0}
                if m.is_count:
                    row.update({k: 0 for k in m.extra})
                row.update(f)
                out.append(row)
    return out


def _ref_shape(m: catalog.Metric, ctx: Context, rows: list[dict[str, Any]], min_group: int) -> list[dict[str, Any]]:
    from_people = m.people_based or any("people" in r for r in rows)
    shaped = []
    for r in rows:
        ps = r["period_start"]
        value = r.get("value")
        if value is not None and m.unit == "count" and float(value).is_integer():
            value = int(value)
        n = int(r.get("n") or 0)
        out: dict[str, Any] = {
            "metric": m.name,
            "period": ctx.period,
            "period_start": ps.date().isoformat() if isinstance(ps, datetime) else ps,
            "by": ctx.by,
            "group": r.get("group"),
            "value": value,
            "n": n,
        }
        for k in m.extra:
            v = r.get(k)
            out[k] = v.date().isoformat() if isinstance(v, datetime) else v
        if from_people:
            people = r.get("people")
            has_data = (
                value is not None
                or n > 0
                or any(r.get(k) not in (None, 0) for k in m.extra if k not in run.IDENTITY_EXTRAS)
            )
            hide = "people" in r and has_data and (people is None or int(people) < min_group)
            out["suppressed"] = bool(hide)
            if hide:
                out["value"] = None
                out["n"] = None
                for k in m.extra:
                    if k not in run.IDENTITY_EXTRAS:
                        out[k] = None
        shaped.append(out)
    return shaped


def _ref_sort_key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["metric"],
        r["period_start"] or "",
        r["group"] or "",
        # the old runner sorted on ("cohort", "offset", "step", "state", "key") only, so rows that tied on those
        # (incident_count's severities, slo's objectives, space_score's dimensions) kept the engine's order
        *(str(r.get(k, "")) for k in ("cohort", "offset", "step", "state", "key", "slo", "severity", "dimension")),
    )


def reference_rows(
    frames: Sequence[tuple[catalog.Metric, Context, pd.DataFrame]], min_group: int = 5
) -> list[dict[str, Any]]:
    """What the per-row runner made of each metric's result frame (all in one result, sorted)."""
    out: list[dict[str, Any]] = []
    for m, ctx, df in frames:
        periods = period_starts(ctx.window_start, ctx.window_end, ctx.period)
        first = period_floor(ctx.window_start, ctx.period)
        rows = _ref_frame_rows(df)
        rows = [r for r in rows if r["period_start"] is None or first <= r["period_start"] < ctx.window_end]
        if m.gridded:
            rows = _ref_grid_fill(m, ctx, rows, periods)
        out.extend(_ref_shape(m, ctx, rows, min_group))
    out.sort(key=_ref_sort_key)
    return out


def runner_rows(
    frames: Sequence[tuple[catalog.Metric, Context, pd.DataFrame]], min_group: int = 5
) -> list[dict[str, Any]]:
    """What the runner makes of the same frames."""
    blocks = []
    for m, ctx, df in frames:
        periods = period_starts(ctx.window_start, ctx.window_end, ctx.period)
        first = period_floor(ctx.window_start, ctx.period)
        blocks.append(run._metric_rows(m, ctx, df, periods, first, ctx.window_end, min_group))
    return run._sorted_rows(blocks)


def assert_same_rows(frames: Sequence[tuple[catalog.Metric, Context, pd.DataFrame]], min_group: int = 5) -> None:
    want = reference_rows(frames, min_group)
    got = runner_rows(frames, min_group)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert repr(g) == repr(w), f"row {k}: {g!r} != {w!r}"
    assert json.dumps(got) == json.dumps(want)


# -- synthetic frames -----------------------------------------------------------------------------------------

START = datetime(2026, 1, 5)  # a Monday
UNTIL = datetime(2026, 2, 2)


def _metric(
    name: str = "m",
    *,
    unit: str = "ratio",
    extra: tuple[str, ...] = (),
    is_count: bool = False,
    people_based: bool = False,
    gridded: bool = True,
    fill: Callable[[Context], Sequence[dict[str, Any]]] | None = None,
) -> catalog.Metric:
    return catalog.Metric(
        name=name,
        category="adoption",
        question="?",
        definition="",
        unit=unit,  # type: ignore[arg-type]
        direction="higher_is_better",
        kind="output",
        layer=1,
        default_unit_of_analysis="team",
        compute=lambda ctx: None,  # type: ignore[arg-type,return-value]
        extra=extra,
        is_count=is_count,
        people_based=people_based,
        gridded=gridded,
        fill=fill,
    )


def _ctx(by: str | None = "team", period: str = "week", since: datetime = START, until: datetime = UNTIL) -> Context:
    q = Query(period=period, by=by, since=since, until=until)  # type: ignore[arg-type]
    return Context(con=None, settings=Settings(), query=q, window_start=since, window_end=until)


def _frame(**cols: Any) -> pd.DataFrame:
    return pd.DataFrame(cols)


W = [START + timedelta(days=7 * k) for k in range(4)]


def test_counts_with_grid_and_extras() -> None:
    m = _metric(unit="count", is_count=True, extra=("deploy_days", "band"))
    df = _frame(
        period_start=pd.Series([W[2], W[0], W[0], START - timedelta(days=7), None], dtype="datetime64[us]"),
        group=pd.Series(["b", "a", None, "a", "c"], dtype="str"),
        value=[3.0, 2.5, np.nan, 1.0, 4.0],
        n=[3, 2, 0, 1, 4],
        deploy_days=[1, 2, 0, 1, 1],
        band=pd.Series(["low", None, "high", "elite", None], dtype="str"),
    )
    assert_same_rows([(m, _ctx(), df)])
    assert_same_rows([(m, _ctx(by=None), df.assign(group=pd.Series([None] * 5, dtype="str")))])


def test_people_suppression_and_non_identity_extras() -> None:
    m = _metric(extra=("cohort", "unanswered", "last_seen"), people_based=False)
    df = _frame(
        period_start=pd.Series([*W[:4], W[1]], dtype="datetime64[us]"),
        group=pd.Series(["a", "a", "b", "b", None], dtype="str"),
        cohort=pd.Series(["2026-01", "2026-01", None, "2026-02", "2026-01"], dtype="str"),
        value=[np.nan, 0.5, 0.25, np.nan, 1.0],
        n=[0, 3, 7, 0, 2],
        unanswered=[2, 0, 0, 0, 0],
        last_seen=pd.Series([W[0], None, W[1], None, W[2]], dtype="datetime64[us]"),
        people=[1, 3, 7, 4, 0],
    )
    assert_same_rows([(m, _ctx(), df)])
    assert_same_rows([(m, _ctx(), df)], min_group=1)
    assert_same_rows([(_metric(people_based=True, extra=("unanswered",)), _ctx(), df.drop(columns=["people"]))])


def test_fill_keys_ties_and_int_sort_extras() -> None:
    def fill(ctx: Context) -> list[dict[str, Any]]:
        return [{"severity": s} for s in ("sev1", "sev2", "sev3")]

    m = _metric(unit="count", is_count=True, extra=("severity", "offset"), fill=fill)
    df = _frame(
        period_start=pd.Series([W[1], W[1], W[0], W[3]], dtype="datetime64[us]"),
        group=pd.Series(["x", "x", "y", "x"], dtype="str"),
        severity=pd.Series(["sev2", "sev1", "sev3", "sev9"], dtype="str"),
        offset=[10, 2, 1, 0],
        value=[1.0, 2.0, 3.0, 1.0],
        n=[1, 2, 3, 1],
    )
    assert_same_rows([(m, _ctx(), df)])
    # a fill key the frame does not carry, and fills of different keys
    odd = _metric(extra=("key",), fill=lambda ctx: [{"key": "a"}, {"step": "s", "key": "b"}, {"group": "g"}])
    assert_same_rows([(odd, _ctx(), df.drop(columns=["severity"]))])
    assert_same_rows([(_metric(extra=("key",), fill=lambda ctx: [{"key": 1}, {"key": 2}]), _ctx(), df)])


def test_not_gridded_object_columns_and_the_same_metric_twice() -> None:
    m = _metric(gridded=False, extra=("step", "state"))
    df = _frame(
        period_start=pd.Series([W[0], None, W[2]], dtype="datetime64[us]"),
        group=pd.Series(["a", None, "b"], dtype=object),
        step=pd.Series([1, "two", None], dtype=object),
        state=pd.Series([np.float64(1.5), float("nan"), pd.NaT], dtype=object),
        value=pd.Series([1, 2, 3], dtype="int64"),
        n=[1.0, np.nan, 2.7],
    )
    assert_same_rows([(m, _ctx(), df)])
    assert_same_rows([(m, _ctx(), df), (_metric("a"), _ctx(), df.iloc[:0]), (m, _ctx(), df.iloc[::-1])])


def test_empty_frames() -> None:
    empty = _frame(
        period_start=pd.Series([], dtype="datetime64[us]"),
        group=pd.Series([], dtype="str"),
        value=pd.Series([], dtype="float64"),
        n=pd.Series([], dtype="int64"),
        people=pd.Series([], dtype="int64"),
    )
    for by in ("team", None):
        assert_same_rows([(_metric(unit="count", is_count=True), _ctx(by=by), empty)])
        assert_same_rows([(_metric(people_based=True), _ctx(by=by), empty)])


@st.composite
def frames(draw: st.DrawFn) -> tuple[catalog.Metric, Context, pd.DataFrame]:
    period = draw(st.sampled_from(["day", "week", "month"]))
    since = START + timedelta(hours=draw(st.sampled_from([0, 0, 30])))
    until = since + timedelta(days=draw(st.integers(1, 40)))
    by = draw(st.sampled_from(["team", None]))
    count = draw(st.booleans())
    extra = tuple(draw(st.lists(st.sampled_from(["cohort", "offset", "key", "band", "unanswered"]), unique=True)))
    fill = None
    if "key" in extra:
        # none; the key's values; a null key (a total row: the frame's other keys are not filled); with a field
        # that is not a sort extra (the funnel's step_index); and one whose keys tie in sort order
        fills: list[list[dict[str, Any]]] = [
            [{"key": "k1"}, {"key": "k2"}],
            [{"key": None}],
            [{"key": "k1", "band": "b1"}, {"key": "k2", "band": "b2"}],
            [{"key": "k1", "band": "b1"}, {"key": "k1", "band": "b2"}],
        ]
        choice = draw(st.sampled_from([None, *fills]))
        if choice is not None and "band" in choice[0] and "band" not in extra:
            extra = (*extra, "band")
        fill = None if choice is None else (lambda ctx, choice=choice: [dict(f) for f in choice])
    m = _metric(
        unit="count" if count else "ratio",
        is_count=count,
        extra=extra,
        people_based=draw(st.booleans()),
        gridded=draw(st.booleans()),
        fill=fill,
    )
    size = draw(st.integers(0, 25))
    span = (until - since).days + 40
    starts = [
        None
        if draw(st.integers(0, 20)) == 0
        else period_floor(since - timedelta(days=10) + timedelta(days=draw(st.integers(0, span))), period)
        for _ in range(size)
    ]
    opt_str = st.sampled_from(["a", "b", "c", None])
    cols: dict[str, Any] = {
        "period_start": pd.Series(starts, dtype="datetime64[us]"),
        "group": pd.Series([draw(opt_str) if by else None for _ in range(size)], dtype="str"),
        "value": [draw(st.sampled_from([0.0, 1.0, 2.5, 3.0, float("nan"), -1.0])) for _ in range(size)],
        "n": [draw(st.integers(0, 9)) for _ in range(size)],
    }
    for k in extra:
        if k in ("offset", "unanswered"):
            cols[k] = [draw(st.integers(0, 12)) for _ in range(size)]
        elif k == "key":
            cols[k] = pd.Series([draw(st.sampled_from(["k1", "k2", "k3", None])) for _ in range(size)], dtype="str")
        else:
            cols[k] = pd.Series([draw(opt_str) for _ in range(size)], dtype="str")
    if fill is not None and "band" in fill(None)[0] and draw(st.booleans()):  # bands that go with the keys
        cols["band"] = pd.Series([{"k1": "b1", "k2": "b2"}.get(k, "b3") for k in cols["key"]], dtype="str")
    if draw(st.booleans()):
        cols["people"] = [draw(st.integers(0, 9)) for _ in range(size)]
    return m, _ctx(by=by, period=period, since=since, until=until), pd.DataFrame(cols)


@given(st.lists(frames(), min_size=1, max_size=3))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_frames(cases: list[tuple[catalog.Metric, Context, pd.DataFrame]]) -> None:
    for k, (m, ctx, df) in enumerate(cases):
        cases[k] = (_metric(f"m{k % 2}", **_like(m)), ctx, df)
    assert_same_rows(cases)


GRID_FILLS: list[list[dict[str, Any]] | None] = [
    None,
    [{"key": "k1"}, {"key": "k2"}],  # the keys (lifecycle's states, dora_band's keys)
    [{"key": None}],  # only a null key (incident_count's total row): the frame's other keys are not filled
    [{"key": "k1", "band": "b1"}, {"key": "k2", "band": "b2"}],  # a field that is not a sort extra (funnel)
]


@st.composite
def grid_frames(draw: st.DrawFn) -> tuple[catalog.Metric, Context, pd.DataFrame, bool]:
    """A gridded metric's frame with at most one row per period × group × key, all inside the grid (the
    runner's grid shortcut), sometimes broken (a row twice, a null group, a key that ties in sort order) so
    that it must not take it; and whether it should."""
    period = draw(st.sampled_from(["day", "week", "month"]))
    since = START + timedelta(hours=draw(st.sampled_from([0, 0, 30])))
    until = since + timedelta(days=draw(st.integers(1, 60)))
    by = draw(st.sampled_from(["team", "team", None]))
    fill = draw(st.sampled_from(GRID_FILLS))
    keyed = fill is not None or draw(st.booleans())
    extra = (("key",) if keyed else ()) + (("band",) if fill and "band" in fill[0] else ())
    extra += tuple(draw(st.lists(st.sampled_from(["unanswered", "deploy_days"]), unique=True)))
    count = draw(st.booleans())
    m = _metric(
        unit="count" if count else "ratio",
        is_count=count,
        extra=extra,
        people_based=draw(st.booleans()),
        fill=None if fill is None else (lambda ctx: [dict(f) for f in fill]),
    )
    periods = period_starts(since, until, period)
    groups = ["a", "b", "c"] if by else [None]
    keys = ["k1", "k2", "k3", None] if keyed else [None]
    cells = draw(
        st.lists(st.tuples(st.sampled_from(periods), st.sampled_from(groups), st.sampled_from(keys)), unique=True)
    )
    rows = [dict(period_start=p, group=g, key=k) for p, g, k in cells]
    # a key extra without a fill of it: (period, group) cells are filled, not keys (the fill-then-sort path)
    shortcut = fill is not None or not keyed
    broken = draw(st.sampled_from([None, None, "twice", "null group", "tie"]))
    if broken == "twice" and rows:
        rows.append(dict(rows[0]))
        shortcut = False
    elif broken == "null group" and by:
        rows.append(dict(period_start=periods[0], group=None, key="k1"))
        shortcut = False
    size = len(rows)
    cols: dict[str, Any] = {
        "period_start": pd.Series([r["period_start"] for r in rows], dtype="datetime64[us]"),
        "group": pd.Series([r["group"] for r in rows], dtype="str"),
        "value": [draw(st.sampled_from([0.0, 1.0, 2.5, float("nan")])) for _ in range(size)],
        "n": [draw(st.integers(0, 9)) for _ in range(size)],
    }
    if keyed:
        cols["key"] = pd.Series([r["key"] for r in rows], dtype="str")
    if "band" in extra:
        cols["band"] = pd.Series([{"k1": "b1", "k2": "b2"}.get(r["key"], "b3") for r in rows], dtype="str")
        if broken == "tie" and rows and fill is not None:  # k1 with another band: two keys sort as k1
            cols["band"][0] = "b9" if rows[0]["key"] == "k1" else cols["band"][0]
            shortcut = shortcut and rows[0]["key"] != "k1"
    for k in ("unanswered", "deploy_days"):
        if k in extra:
            cols[k] = [draw(st.integers(0, 3)) for _ in range(size)]
    if draw(st.booleans()):
        cols["people"] = [draw(st.integers(0, 9)) for _ in range(size)]
    return m, _ctx(by=by, period=period, since=since, until=until), pd.DataFrame(cols), shortcut


@given(grid_frames())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_grid_shortcut(case: tuple[catalog.Metric, Context, pd.DataFrame, bool]) -> None:
    """The grid shortcut gives the reference's rows, and it is taken where it applies (so that this test is
    about it, not about the fill-then-sort path it falls back to)."""
    m, ctx, df, shortcut = case
    assert_same_rows([(m, ctx, df)])
    taken: list[bool] = []
    real = run._grid_in_order

    def spy(*args: Any) -> Any:
        got = real(*args)
        taken.append(got is not None)
        return got

    run._grid_in_order = spy
    try:
        periods = period_starts(ctx.window_start, ctx.window_end, ctx.period)
        run._metric_rows(m, ctx, df, periods, period_floor(ctx.window_start, ctx.period), ctx.window_end, 5)
    finally:
        run._grid_in_order = real
    assert taken == [shortcut]


def _like(m: catalog.Metric) -> dict[str, Any]:
    return {
        "unit": m.unit,
        "extra": m.extra,
        "is_count": m.is_count,
        "people_based": m.people_based,
        "gridded": m.gridded,
        "fill": m.fill,
    }


# -- real metrics: every golden case's result frame -----------------------------------------------------------


CASES = load_cases()


def _case_frames(case: Case) -> tuple[Any, list[tuple[catalog.Metric, Context, pd.DataFrame]], Settings]:
    con = connect_duckdb()
    load_tables(con, tables(case))
    query = golden.query(case)
    settings_ = golden.settings(case)
    since, until = run._window(con, query)
    whole = run.whole_days(query, since, until)
    m = catalog.get(case.data["metric"])
    ctx = Context(con=con, settings=settings_, query=query, window_start=since, window_end=until, whole_days=whole)
    return con, [(m, ctx, con.execute(m.compute(ctx)))], settings_


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_frames_shape_like_the_reference(case: Case) -> None:
    _, frames_, settings_ = _case_frames(case)
    assert_same_rows(frames_, settings_.privacy.min_group_size)


# -- data-warning checks: once per run ------------------------------------------------------------------------


class _Counting:
    """An Ibis backend that counts the queries it executes."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.executed: list[Any] = []

    def execute(self, expr: Any, **kwargs: Any) -> Any:
        self.executed.append(expr)
        return self._con.execute(expr, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _dora_case(backend: Any) -> Query:
    case = next(c for c in CASES if c.id == "delivery/dora_band__week")
    load_tables(backend, tables(case))
    q = golden.query(case)
    return Query(period="week", by="team", since=q.since, until=q.until)


DORA_AND_KEYS = ["lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time", "dora_band"]


def _checks_in(executed: list[Any], checks: set[Any]) -> list[Any]:
    """The checks (scalar nodes) computed by each executed expression, in order."""
    from ibis.common.graph import Graph

    return [c for expr in executed for c in Graph.from_bfs(expr.op()) if c in checks]


def test_checks_run_once_per_run_and_warn_as_before() -> None:
    con = connect_duckdb()
    query = _dora_case(con)
    alone_warnings: list[str] = []
    checks: set[Any] = set()
    for name in DORA_AND_KEYS:
        c = _Counting(con)
        res = compute(c, [name], query)
        alone_warnings += res.warnings
        assert len(c.executed) == 1  # the metric's checks are computed in its own query
        ctx = Context(con=con, settings=Settings(), query=query, window_start=query.since, window_end=query.until)  # type: ignore[arg-type]
        catalog.get(name).compute(ctx)
        checks |= {s.op() for s, _ in ctx.checks}
    assert len(checks) == 4  # dora_band's are the lead-time and recovery-time ones
    c = _Counting(con)
    together = compute(c, DORA_AND_KEYS, query)
    assert together.warnings == alone_warnings
    assert len(c.executed) == 4
    computed = _checks_in(c.executed, checks)
    assert sorted(map(hash, computed)) == sorted(map(hash, checks))  # each once


def test_dora_band_reads_its_keys_from_the_same_run(backend: Any) -> None:
    """dora_band computed with its keys (which it then reads from their results) gives exactly the rows it
    gives alone, on both engines."""
    query = _dora_case(backend)
    together = compute(backend, DORA_AND_KEYS, query)
    alone = {name: compute(backend, [name], query) for name in DORA_AND_KEYS}
    for name in DORA_AND_KEYS:
        rows = [r for r in together.rows if r["metric"] == name]
        assert rows and repr(rows) == repr(alone[name].rows), name
    assert together.warnings == [w for name in DORA_AND_KEYS for w in alone[name].warnings]
    shared = run._Shared()
    ctx = Context(con=backend, settings=Settings(), query=query, window_start=query.since, window_end=query.until)  # type: ignore[arg-type]
    for name in DORA_AND_KEYS[:3]:
        expr = catalog.get(name).compute(ctx)
        shared.add(expr, backend.execute(expr))
    dora = shared.rewrite(catalog.get("dora_band").compute(ctx))
    assert len(dora.op().find(ibis.expr.operations.InMemoryTable)) >= 3


@pytest.mark.parametrize("good_change", [False, True], ids=["no-rows", "rows"])
def test_a_warning_is_still_given_by_every_metric_that_checks(good_change: bool) -> None:
    """The lead-time checks find a deployed change id without a change record and a negative lead time.
    Without any other change the metric has no rows, so its checks cannot ride on its query: they run alone."""
    from northstar.records import validate_record
    from northstar.schema import rows_to_arrow

    con = connect_duckdb()
    changes = [{"id": "c1", "service": "s", "team": "t", "created_at": datetime(2026, 1, 7)}]
    if good_change:
        changes.append({"id": "c2", "service": "s", "team": "t", "created_at": datetime(2026, 1, 5)})
    deployments = [
        {
            "id": "d1",
            "service": "s",
            "team": "t",
            "environment": "production",
            "status": "succeeded",
            "finished_at": datetime(2026, 1, 6),
            "change_ids": ["c1", "c2", "c-unknown"],
        }
    ]
    load_tables(
        con,
        {
            "changes": rows_to_arrow("changes", [validate_record("changes", r).model_dump() for r in changes]),
            "deployments": rows_to_arrow(
                "deployments", [validate_record("deployments", r).model_dump() for r in deployments]
            ),
        },
    )
    query = Query(period="week", since=datetime(2026, 1, 5), until=datetime(2026, 1, 19))
    res = compute(con, ["lead_time_for_changes", "dora_band"], query)
    orphans = 1 if good_change else 2  # without c2's record, c2 is an orphan too
    assert res.warnings[0] == (
        f"lead_time_for_changes: {orphans} change id(s) deployed to production in the window have no change "
        "record, so no lead time"
    )
    assert res.warnings[1].startswith("lead_time_for_changes: 1 change(s) whose first production deployment")
    assert res.warnings[2:] == [w.replace("lead_time_for_changes", "dora_band") for w in res.warnings[:2]]
    lead = [r for r in res.rows if r["metric"] == "lead_time_for_changes" and r["n"]]
    assert [r["value"] for r in lead] == ([86400.0] if good_change else [])


# -- building blocks made once per call ------------------------------------------------------------------------


def test_once_builds_once_per_call_and_gives_every_caller_its_checks() -> None:
    from northstar.metrics.context import once

    built: list[str] = []

    @once
    def part(ctx: Context, unit: str, *, wide: bool = False) -> Any:
        built.append(unit)
        t = ibis.memtable({"x": [1, 2]})
        ctx.check(t.count(), f"{unit}: {{n}} rows")
        return t.mutate(unit=ibis.literal(unit))

    memo: dict[Any, Any] = {}
    first, second, other = (
        Context(con=None, settings=Settings(), query=Query(), window_start=START, window_end=UNTIL, memo=memo)
        for _ in range(3)
    )
    a = part(first, "team")
    first.check(ibis.literal(0), "own check")
    b = part(second, "team")
    assert b is a and built == ["team"]
    assert [m for _, m in first.checks] == ["team: {n} rows", "own check"]
    assert [m for _, m in second.checks] == ["team: {n} rows"]  # the part's check, not the first caller's own
    assert part(other, "user") is not a and part(other, "team", wide=True) is not a
    assert built == ["team", "user", "team"]
    # a context of its own (the default) builds again
    alone = Context(con=None, settings=Settings(), query=Query(), window_start=START, window_end=UNTIL)
    assert part(alone, "team") is not a and built[-1] == "team"
