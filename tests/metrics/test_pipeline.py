"""The DuckDB pipeline (`northstar.metrics.pipeline`): shared parts computed once, queries run beside Python,
and every answer exactly the serial runner's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
import pytest

from northstar.config import Settings
from northstar.demo import generate
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, catalog, compute, pipeline
from northstar.metrics import run as run_module


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Any, Settings]]:
    """The demo organisation over 150 days, loaded into an in-memory DuckDB, with the demo's settings."""
    import yaml

    data = generate(7, days=150)
    con = connect_duckdb()
    load_tables(con, data.tables)
    settings = Settings.model_validate(yaml.safe_load(data.config_yaml))
    yield con, settings
    con.disconnect()


def _serially(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "supported", lambda con: False)


QUERIES = [
    Query(period="week", by="team"),
    Query(period="month", by=None),
    Query(period="week", by="service"),
    Query(period="week", by="component", unit="user"),
    # a window that cuts days: the metrics read raw events instead of the rollups
    Query(period="week", by="team", since=datetime(2026, 7, 1, 12), until=datetime(2026, 10, 20, 6)),
]


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.period}-by-{q.by}-{q.unit}-{q.since}")
def test_the_whole_catalog_in_one_call_equals_the_serial_runner(
    demo: tuple[Any, Settings], query: Query, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, settings = demo
    names = [
        m.name
        for m in map(catalog.get, catalog.names())
        if (query.by is None or query.by in m.dims) and (query.unit is None or not m.units or query.unit in m.units)
    ]
    together = compute(con, names, query, settings)
    assert pipeline.supported(con)
    assert len(together.rows) > 100
    with monkeypatch.context() as m:
        _serially(m)
        serial = compute(con, names, query, settings)
    assert together.warnings == serial.warnings
    assert repr(together.rows) == repr(serial.rows)


@pytest.mark.slow
def test_each_metric_alone_gives_the_rows_it_gives_in_the_whole_catalog(demo: tuple[Any, Settings]) -> None:
    con, settings = demo
    query = Query(period="week", by="team")
    names = [n for n in catalog.names() if "team" in catalog.get(n).dims]
    together = run_module.rows_by_metric(compute(con, names, query, settings).rows)
    for name in names:
        alone = compute(con, [name], query, settings).rows
        assert repr(alone) == repr(together.get(name, [])), name


def _agg(t: Any, key: str) -> Any:
    return t.group_by(key).aggregate(n=t.count())


def test_shared_parts_are_the_biggest_common_aggregates_innermost_first() -> None:
    t = ibis.table({"a": "string", "b": "int64", "c": "int64"}, name="t")
    inner = _agg(t.filter(t.b > 0), "a")  # in q1, q2 and q3
    outer = _agg(inner.filter(inner.n > 1), "a")  # in q1 and q2
    hidden = _agg(t.filter(t.c > 5), "a")  # in q1 and q2, but only ever inside `wrapper`
    wrapper = _agg(hidden.filter(hidden.n > 2), "a")  # in q1 and q2
    both = outer.join(wrapper, "a")
    q1 = both.mutate(x=1)
    q2 = both.mutate(x=2)
    q3 = inner.mutate(x=3)
    q4 = _agg(t, "c")  # alone
    parts = pipeline.shared_parts([q1, q2, q3, q4])
    assert set(parts) == {inner.op(), outer.op(), wrapper.op()}
    assert parts.index(inner.op()) < parts.index(outer.op())
    assert pipeline.shared_parts([q1, q3, q4]) == [inner.op()]
    assert pipeline.shared_parts([q3, q4]) == []


def test_a_shared_part_is_computed_once_and_gives_what_the_plain_queries_give() -> None:
    con = connect_duckdb()
    con.create_table("t", ibis.memtable(pa.table({"a": ["x", "y", "x", "z"], "b": [1, 2, 3, -1]})))
    t = con.table("t")
    inner = _agg(t.filter(t.b > 0), "a")
    q1 = inner.mutate(y=inner.n * 10)
    q2 = inner.filter(inner.a == "x")
    q3 = t.filter(t.b < 0)
    calls: list[Any] = []
    original = pipeline._materialize

    def counting(pool: Any, expr: Any, deps: Any) -> Any:
        calls.append(expr)
        return original(pool, expr, deps)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "_materialize", counting)
    try:
        ready = {i: df for i, df, _ in pipeline.run(con, [(q, None, [], []) for q in (q1, q2, q3)])}
        got = [ready[i] for i in range(3)]
    finally:
        mp.undo()
    assert len(calls) == 1
    for q, df in zip((q1, q2, q3), got, strict=True):
        want = con.execute(q)
        assert (
            df.sort_values(list(df.columns))
            .reset_index(drop=True)
            .equals(want.sort_values(list(want.columns)).reset_index(drop=True))
        )


def test_a_failing_query_raises_from_compute_and_stops_the_workers(demo: tuple[Any, Settings]) -> None:
    con, settings = demo
    import threading

    class Boom(Exception):
        pass

    original = pipeline._execute

    def failing(pool: Any, plain: Any, *args: Any) -> Any:
        if any(t.name == "survey_responses" for t in plain.op().find(ibis.expr.operations.DatabaseTable)):
            raise Boom("no survey for you")
        return original(pool, plain, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "_execute", failing)
    try:
        with pytest.raises(Boom):
            compute(con, ["active_teams", "nps", "deployment_frequency"], Query(by="team"), settings)
    finally:
        mp.undo()
    assert not [t for t in threading.enumerate() if t.name.startswith("northstar-query")]


def test_a_connection_with_temporary_tables_runs_serially_with_the_same_answers(
    demo: tuple[Any, Settings],
) -> None:
    """Temporary tables belong to their connection: the workers' cursors would not see them."""
    con, settings = demo
    private = connect_duckdb()
    for name in con.list_tables():
        private.create_table(name, ibis.memtable(con.table(name).to_pyarrow()), temp=True)
    assert pipeline.supported(con) and not pipeline.supported(private)
    query = Query(period="week", by="team")
    names = ["active_users", "stickiness", "lead_time_for_changes", "dora_band", "nps"]
    assert repr(compute(private, names, query, settings).rows) == repr(compute(con, names, query, settings).rows)
