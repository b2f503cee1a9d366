"""Storage schemas of the canonical tables (derived from `records.COLUMNS`) and the derived tables.

Every engine sees the same tables: one per record kind, named as the kind, plus derived tables that make
nested fields relational so that metrics stay plain Ibis expressions:

- `latency_buckets` (sample_id, service, ts, interval_s, le, count): one row per histogram bucket of a
  service sample; `le` is +inf for the `+Inf` bucket, `count` is cumulative (Prometheus semantics).
- `latency_daily` (day, service, le, count, samples): the buckets summed per UTC day, service and bound
  (cumulative counts add up, so any period's histogram is a sum of days); `samples` counts the samples.
- `activity_days` (day, team, actor, component, events, first_ts): activity per UTC day, the event's own
  team (null when the event has none), actor and component, with the number of events and the first one.
- `activity_person_days` (day, team, actor, events, first_ts): the same without the component (~3× fewer
  rows), for the metrics that don't look at components.
- `activity_team_days` (day, team, actor, component, events, first_ts): per day, team and component, with
  `actor` only for events without a team (whose team comes from `people`); ~10× fewer rows than
  `activity_days`, for metrics whose unit is the team.
- `activity_firsts` (team, actor, component, action, events, first_ts): the first event (and the count) of
  every team, actor, component and action over all history.

The code that builds and maintains them is in `northstar.derived`.
"""

from __future__ import annotations

import json
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from northstar.records import COLUMNS, KINDS, Column

__all__ = [
    "ARROW_TYPES",
    "DERIVED",
    "SQL_TYPES",
    "arrow_schema",
    "derive",
    "empty_table",
    "ibis_schema",
    "rows_to_arrow",
]

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "string_list": pa.list_(pa.string()),
    "json": pa.string(),
}

SQL_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "string_list": "VARCHAR[]",
    "json": "VARCHAR",
}


def _activity_rollup(*keys: str) -> pa.Schema:
    """An activity rollup: its key columns, then the number of events and the first event's time."""
    types = {"day": pa.timestamp("us")}
    fields = [(k, types.get(k, pa.string())) for k in keys]
    return pa.schema([*fields, ("events", pa.int64()), ("first_ts", pa.timestamp("us"))])


DERIVED: dict[str, pa.Schema] = {
    "latency_buckets": pa.schema(
        [
            ("sample_id", pa.string()),
            ("service", pa.string()),
            ("ts", pa.timestamp("us")),
            ("interval_s", pa.float64()),
            ("le", pa.float64()),
            ("count", pa.float64()),
        ]
    ),
    "latency_daily": pa.schema(
        [
            ("day", pa.timestamp("us")),
            ("service", pa.string()),
            ("le", pa.float64()),
            ("count", pa.float64()),
            ("samples", pa.int64()),
        ]
    ),
    "activity_days": _activity_rollup("day", "team", "actor", "component"),
    "activity_person_days": _activity_rollup("day", "team", "actor"),
    "activity_team_days": _activity_rollup("day", "team", "actor", "component"),
    "activity_firsts": _activity_rollup("team", "actor", "component", "action"),
}
# which record kind each derived table follows (in this order: a rollup after the table it reads)
DERIVED_FROM: dict[str, str] = {
    "latency_buckets": "service_samples",
    "latency_daily": "service_samples",
    "activity_days": "activity",
    "activity_person_days": "activity",
    "activity_team_days": "activity",
    "activity_firsts": "activity",
}


def arrow_schema(kind: str) -> pa.Schema:
    """The Arrow schema a record kind is stored with."""
    if kind in DERIVED:
        return DERIVED[kind]
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in COLUMNS[kind]])


def ibis_schema(kind: str) -> ibis.Schema:
    """The Ibis schema of a canonical or derived table."""
    return ibis.Schema.from_pyarrow(arrow_schema(kind))


def empty_table(kind: str) -> pa.Table:
    """An empty Arrow table with the kind's storage schema."""
    return arrow_schema(kind).empty_table()


def _storage_value(col: Column, value: Any) -> Any:
    if value is None:
        return None
    if col.type == "json":
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def rows_to_arrow(kind: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Validated records (dicts of python values, e.g. `model.model_dump()`) → an Arrow table for storage."""
    cols = COLUMNS[kind]
    data = {c.name: [_storage_value(c, r.get(c.name)) for r in rows] for c in cols}
    return pa.table(data, schema=arrow_schema(kind))


def derive(kind: str, table: pa.Table) -> dict[str, pa.Table]:
    """The derived tables built from a batch of one record kind alone (empty dict when it feeds none)."""
    from northstar.derived import build_all, registry

    names = [n for n, d in registry().items() if d.source == kind]
    if not names:
        return {}
    tables = {kind: table}
    build_all(tables, only=names)
    return {n: tables[n] for n in names}


def ibis_type(column: Column) -> dt.DataType:
    """The Ibis data type of one column."""
    return dt.from_pyarrow(ARROW_TYPES[column.type])


ALL_TABLES: tuple[str, ...] = (*KINDS, *DERIVED)
