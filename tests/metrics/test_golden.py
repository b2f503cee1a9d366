"""Every golden case (tests/golden/**.yaml) on DuckDB and on Spark: identical, hand-computed results."""

from __future__ import annotations

from typing import Any

import pytest

from northstar.engines import load_tables
from northstar.metrics import compute
from tests.metrics import golden
from tests.metrics.golden import Case, compare, load_cases, tables

CASES = load_cases()


def run_case(backend: Any, case: Case, *, load: bool = True) -> Any:
    if load:
        load_tables(backend, tables(case))
    return compute(backend, [case.data["metric"]], golden.query(case), golden.settings(case))


def _via_store(case: Case) -> Any:
    """The case's data written through the store in three upserts — half the rows, then every row with the
    first half changed in place, then the original rows again — so the derived tables and rollups are kept by
    the store's incremental SQL (inserts, updates and unchanged rows), never built in one go."""

    from northstar.schema import arrow_schema
    from northstar.store import Store

    store = Store.open(":memory:")
    data = tables(case)
    for kind, t in data.items():
        full = t.cast(arrow_schema(kind))
        half = full.slice(0, len(full) // 2)
        store.upsert(kind, half)
        store.upsert(kind, _shifted(full, len(full) // 2))
        store.upsert(kind, full)
    return store.ibis


def _shifted(t: Any, k: int) -> Any:
    """`t` with the timestamps of its first `k` rows moved one day later (then restored by the next upsert)."""
    import datetime as _d

    import pyarrow as pa

    cols = {}
    for f in t.schema:
        col = t.column(f.name).to_pylist()
        if pa.types.is_timestamp(f.type):
            col = [v + _d.timedelta(days=1) if v is not None and i < k else v for i, v in enumerate(col)]
        cols[f.name] = col
    return pa.table(cols, schema=t.schema)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_through_the_store(case: Case) -> None:
    """DuckDB again, with the data written through `Store` (incremental rollups) instead of loaded in one go."""
    result = run_case(_via_store(case), case, load=False)
    problems = compare(case.data["expected"], result.rows)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(backend: Any, case: Case) -> None:
    result = run_case(backend, case)
    problems = compare(case.data["expected"], result.rows)
    assert not problems, "\n".join(problems)
    for w in case.data.get("warnings") or []:
        assert any(w in got for got in result.warnings), f"no warning containing {w!r} in {result.warnings}"
    if "warnings" in case.data and not case.data["warnings"]:
        assert result.warnings == []


def test_there_are_golden_cases_for_every_metric() -> None:
    from northstar.metrics import names

    covered = {c.data["metric"] for c in CASES}
    missing = sorted(set(names()) - covered)
    assert not missing, f"metrics without a golden case: {missing}"
