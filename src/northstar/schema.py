"""Storage schemas of the canonical tables (derived from `records.COLUMNS`) and the derived tables.

Every engine sees the same tables: one per record kind, named as the kind, plus derived tables that make
nested fields relational so that metrics stay plain Ibis expressions:

- `latency_buckets` (sample_id, service, ts, interval_s, le, count): one row per histogram bucket of a
  service sample; `le` is +inf for the `+Inf` bucket, `count` is cumulative (Prometheus semantics).
"""

from __future__ import annotations

import json
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from northstar.records import COLUMNS, KINDS, Column, parse_le

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
}
# which record kind each derived table is built from
DERIVED_FROM: dict[str, str] = {"latency_buckets": "service_samples"}


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


def _latency_rows(samples: pa.Table) -> pa.Table:
    out: dict[str, list[Any]] = {name: [] for name in DERIVED["latency_buckets"].names}
    cols = samples.select(["id", "service", "ts", "interval_s", "latency_buckets"]).to_pydict()
    for sid, svc, ts, interval, buckets in zip(
        cols["id"], cols["service"], cols["ts"], cols["interval_s"], cols["latency_buckets"], strict=True
    ):
        if not buckets:
            continue
        for key, count in json.loads(buckets).items():
            out["sample_id"].append(sid)
            out["service"].append(svc)
            out["ts"].append(ts)
            out["interval_s"].append(interval)
            out["le"].append(parse_le(key))
            out["count"].append(float(count))
    return pa.table(out, schema=DERIVED["latency_buckets"])


def derive(kind: str, table: pa.Table) -> dict[str, pa.Table]:
    """The derived tables built from a batch of one record kind (empty dict when it feeds none)."""
    if kind == "service_samples":
        return {"latency_buckets": _latency_rows(table)}
    return {}


def ibis_type(column: Column) -> dt.DataType:
    """The Ibis data type of one column."""
    return dt.from_pyarrow(ARROW_TYPES[column.type])


ALL_TABLES: tuple[str, ...] = (*KINDS, *DERIVED)
