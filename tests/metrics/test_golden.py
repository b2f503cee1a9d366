"""Every golden case (tests/golden/**.yaml) on DuckDB and on Spark: identical, hand-computed results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from northstar.config import Settings
from northstar.engines import load_tables
from northstar.metrics import Query, compute
from tests.metrics.golden import Case, compare, load_cases, tables

CASES = load_cases()


def _dt(v: Any) -> datetime | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    return datetime.fromisoformat(str(v))


def run_case(backend: Any, case: Case) -> Any:
    load_tables(backend, tables(case))
    q = case.data.get("query") or {}
    query = Query(
        period=q.get("period", "week"),
        by=q.get("by"),
        unit=q.get("unit"),
        since=_dt(q.get("since")),
        until=_dt(q.get("until")),
    )
    settings = Settings.model_validate(case.data.get("settings") or {})
    return compute(backend, [case.data["metric"]], query, settings)


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
