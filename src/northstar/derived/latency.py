"""`latency_buckets` (one row per histogram bucket of a service sample) and `latency_daily` (their daily sums)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from northstar.records import parse_le
from northstar.schema import DERIVED

__all__ = ["buckets_arrow", "buckets_maintain", "daily_arrow", "daily_maintain"]


# -- latency_buckets ---------------------------------------------------------------------------------------
def buckets_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    """One row per bucket of every sample's `latency_buckets` JSON; `le` via `parse_le`."""
    samples = tables["service_samples"]
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


def buckets_maintain(con: Any, added: str, removed: str | None) -> None:
    """Drop the buckets of replaced samples, add those of `added`."""
    if removed is not None:
        con.execute(f"DELETE FROM latency_buckets WHERE sample_id IN (SELECT id FROM {removed})")
    src = f"(SELECT id, service, ts, interval_s, latency_buckets AS b FROM {added} WHERE latency_buckets IS NOT NULL)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_lb AS SELECT * FROM {src}")
    try:
        keys = [
            str(k)
            for (k,) in con.execute(
                "SELECT DISTINCT j.key FROM _ns_lb, json_each(_ns_lb.b) j WHERE json_valid(_ns_lb.b)"
            ).fetchall()
        ]
        les = pa.table({"key": pa.array(keys, pa.string()), "le": pa.array([parse_le(k) for k in keys], pa.float64())})
        con.register("_ns_le", les)
        try:
            con.execute(
                "INSERT INTO latency_buckets SELECT s.id, s.service, s.ts, s.interval_s, k.le, j.value::DOUBLE "
                "FROM _ns_lb s, json_each(s.b) j JOIN _ns_le k ON j.key = k.key WHERE json_valid(s.b)"
            )
        finally:
            con.unregister("_ns_le")
        # Counts written as Infinity/NaN are not JSON to DuckDB; derive those few rows in Python.
        odd = con.execute("SELECT * FROM _ns_lb WHERE NOT json_valid(b)").to_arrow_table()
        if len(odd):
            full = odd.rename_columns(["id", "service", "ts", "interval_s", "latency_buckets"])
            extra = buckets_arrow({"service_samples": full})
            con.register("_ns_lb_odd", extra)
            try:
                con.execute("INSERT INTO latency_buckets SELECT * FROM _ns_lb_odd")
            finally:
                con.unregister("_ns_lb_odd")
    finally:
        con.execute("DROP TABLE IF EXISTS _ns_lb")


# -- latency_daily -----------------------------------------------------------------------------------------
def daily_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    """`latency_buckets` summed per UTC day, service and bound, with the number of samples."""
    b = tables["latency_buckets"]
    t = pa.table(
        {
            "day": pc.floor_temporal(b.column("ts"), unit="day"),
            "service": b.column("service"),
            "le": b.column("le"),
            "count": b.column("count"),
        }
    )
    g = t.group_by(["day", "service", "le"], use_threads=False).aggregate([("count", "sum"), ("count", "count")])
    return g.rename_columns({"count_sum": "count", "count_count": "samples"})


def daily_maintain(con: Any, added: str, removed: str | None) -> None:
    """Recompute the days and services touched by the write from `latency_buckets`."""
    touched = f"SELECT date_trunc('day', ts) AS day, service FROM {added}"
    if removed is not None:
        touched += f" UNION SELECT date_trunc('day', ts), service FROM {removed}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_ld AS SELECT DISTINCT * FROM ({touched})")
    try:
        con.execute("DELETE FROM latency_daily d USING _ns_ld t WHERE d.day = t.day AND d.service = t.service")
        con.execute(
            "INSERT INTO latency_daily SELECT date_trunc('day', b.ts) AS day, b.service, b.le, sum(b.count), "
            "count(b.count) FROM latency_buckets b SEMI JOIN _ns_ld t "
            "ON date_trunc('day', b.ts) = t.day AND b.service = t.service GROUP BY ALL"
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _ns_ld")
