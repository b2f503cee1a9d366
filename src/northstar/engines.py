"""Ibis backends that run the metric catalog: DuckDB (embedded default) and Spark (distributed).

The metric catalog only needs an Ibis backend holding the canonical tables under their kind names
(`schema.ALL_TABLES`). `load_tables` puts Arrow tables into any backend; `spark_session` builds a local
PySpark session configured the way the catalog expects (UTC, its own warehouse, no UI).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from typing import Any

import ibis
import pyarrow as pa

from northstar.derived import build_all
from northstar.records import KINDS
from northstar.schema import ALL_TABLES, arrow_schema, empty_table

__all__ = ["connect_duckdb", "connect_spark", "load_tables", "spark_session", "with_derived"]

_SPARK_MISSING = "the Spark engine needs PySpark: pip install 'northstar-ml[spark]' (and a Java 17+ runtime)"


def connect_duckdb(path: str = ":memory:") -> Any:
    """An Ibis DuckDB connection (in memory unless a path is given)."""
    return ibis.duckdb.connect(path)


def spark_session(master: str = "local[2]", app_name: str = "northstar") -> Any:
    """A local Spark session set up for the catalog: UTC session time zone, private warehouse, no UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(_SPARK_MISSING) from exc
    warehouse = tempfile.mkdtemp(prefix="northstar-spark-")
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def connect_spark(session: Any | None = None) -> Any:
    """An Ibis PySpark connection on `session` (a new local session when omitted)."""
    return ibis.pyspark.connect(session or spark_session())


def with_derived(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """Every canonical table (empty where not given) plus the derived tables built from them."""
    out: dict[str, pa.Table] = {}
    for kind in KINDS:
        t = tables.get(kind)
        out[kind] = empty_table(kind) if t is None else t.select(arrow_schema(kind).names).cast(arrow_schema(kind))
    build_all(out)
    return out


def load_tables(con: Any, tables: Mapping[str, pa.Table]) -> None:
    """Create every canonical and derived table in `con` from Arrow data (replacing existing ones)."""
    full = with_derived(tables)
    if getattr(con, "name", "") == "pyspark":
        _load_spark_views(con, full)
        return
    existing = set(con.list_tables())
    for name in ALL_TABLES:
        if name in existing:
            con.drop_table(name)
        # ibis 12 + duckdb 2: create_table(overwrite=True) and pandas inputs fail; a memtable works.
        con.create_table(name, ibis.memtable(full[name]), schema=ibis.Schema.from_pyarrow(arrow_schema(name)))


def _load_spark_views(con: Any, full: Mapping[str, pa.Table]) -> None:
    """Spark: register each table as a temporary view (fast; creating managed tables takes seconds each)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    session = con._session
    for name in ALL_TABLES:
        t = full[name]
        schema = from_arrow_schema(t.schema)
        frame = session.createDataFrame(t.to_pandas() if t.num_rows else [], schema=schema)
        frame.createOrReplaceTempView(name)
