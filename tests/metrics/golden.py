"""Golden metric cases kept as data: input records + query + expected rows, one YAML file per case.

A case file:

    metric: deployment_frequency
    about: what the case pins down
    query: {period: week, by: null, unit: null, since: 2026-01-05, until: 2026-01-19}
    settings: {}                 # northstar.yaml overrides
    records: {deployments: [...], ...}
    expected: [{period_start: 2026-01-05, group: null, value: 1, n: 1}, ...]
    warnings: ["substring", ...] # optional: each must appear in some warning

Every result row must be matched by exactly one expected row (same count); an expected row lists the keys it
pins (period_start, group and any of cohort/offset/step/state identify the row). Floats compare within
1e-9 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from northstar.config import Settings
from northstar.metrics import Query
from northstar.records import validate_record
from northstar.schema import rows_to_arrow

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
IDENTITY = ("period_start", "group", "cohort", "offset", "step", "state", "key", "slo", "severity", "dimension")


@dataclass
class Case:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def load_cases() -> list[Case]:
    return [Case(p, yaml.safe_load(p.read_text())) for p in sorted(GOLDEN.rglob("*.yaml"))]


def tables(case: Case) -> dict[str, Any]:
    out = {}
    for kind, rows in (case.data.get("records") or {}).items():
        recs = [validate_record(kind, r).model_dump() for r in rows]
        out[kind] = rows_to_arrow(kind, recs)
    return out


def _dt(v: Any) -> datetime | None:
    if v is None or isinstance(v, datetime):
        return v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    return datetime.fromisoformat(str(v))


def query(case: Case) -> Query:
    """The case's `query`: period (default week), breakdown, unit and window."""
    q = case.data.get("query") or {}
    return Query(
        period=q.get("period", "week"),
        by=q.get("by"),
        unit=q.get("unit"),
        since=_dt(q.get("since")),
        until=_dt(q.get("until")),
    )


def settings(case: Case) -> Settings:
    """The case's settings over the defaults."""
    return Settings.model_validate(case.data.get("settings") or {})


def _norm(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat() if v == datetime(v.year, v.month, v.day) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return v


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected) == bool(actual) and type(expected) is type(actual)
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if math.isinf(expected) or math.isinf(actual):
            return expected == actual
        return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-12)
    return _norm(expected) == _norm(actual)


def _ident(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_norm(row.get(k)) for k in IDENTITY)


def compare(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Differences between expected and actual rows (empty when they agree)."""
    problems: list[str] = []
    by_id: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in actual:
        key = _ident(r)
        if key in by_id:
            problems.append(f"duplicate result row for {key}")
        by_id[key] = r
    seen = set()
    for e in expected:
        key = _ident({k: _norm(v) for k, v in e.items()})
        r = by_id.get(key)
        if r is None:
            problems.append(f"missing row {e}")
            continue
        seen.add(key)
        for k, v in e.items():
            if not _same(v, r.get(k)):
                problems.append(f"row {key}: {k} expected {v!r}, got {r.get(k)!r}")
    for key, r in by_id.items():
        if key not in seen:
            problems.append(f"unexpected row {r}")
    return problems
