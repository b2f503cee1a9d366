"""`latency_buckets` (one row per histogram bucket of a service sample) and `latency_daily` (their daily sums).

`latency_buckets`: every key of a sample's `latency_buckets` JSON gives a row, `le` parsed by
`records.parse_le` (so "0.1" and "1e-1" are both 0.1, "+Inf"/"Inf"/"inf" are +inf). A histogram without a
`+Inf` bucket gets one, with the sample's highest count (counts are cumulative, so that is its highest
bucket's): it is read as if that bucket held every observation. Every sample with a non-empty histogram
therefore has a `+Inf` row, and a histogram's total is that row. An empty histogram (`{}`) gives no row.

`latency_daily`: `latency_buckets` summed per UTC day of `ts`, service and bound; `samples` counts the rows
summed (the samples carrying that bound). A (day, service) whose every bound has as many samples as its
`+Inf` row is one where all the day's histograms share a bucket layout.

The store keeps both in step at ingest (`*_maintain`, SQL inside the upsert's transaction); `*_arrow` build
the same tables from Arrow (in-memory and Spark engines, and the reference the tests hold the SQL to).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from northstar.records import parse_le
from northstar.schema import DERIVED

__all__ = ["CHUNK_SAMPLES", "buckets_arrow", "buckets_maintain", "daily_arrow", "daily_maintain"]

CHUNK_SAMPLES = 1_000_000
"""Samples derived per statement at most: a larger write is cut into ts ranges of about this many samples, so
a 100M-event load (~10M samples) never holds its histograms at once."""

_INF_KEY = "+Inf"
_MAP = '"MAP(VARCHAR, DOUBLE)"'


def _top(counts: list[float]) -> float:
    """The implied `+Inf` count: the highest count (NaN above everything, as DuckDB orders it)."""
    return math.nan if any(math.isnan(c) for c in counts) else max(counts)


# -- latency_buckets ---------------------------------------------------------------------------------------
def buckets_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    """One row per bucket of every sample's `latency_buckets` JSON (`le` via `parse_le`), plus the implied
    `+Inf` bucket of a histogram without one."""
    samples = tables["service_samples"]
    out: dict[str, list[Any]] = {name: [] for name in DERIVED["latency_buckets"].names}
    cols = samples.select(["id", "service", "ts", "interval_s", "latency_buckets"]).to_pydict()
    for sid, svc, ts, interval, buckets in zip(
        cols["id"], cols["service"], cols["ts"], cols["interval_s"], cols["latency_buckets"], strict=True
    ):
        if not buckets:
            continue
        parsed = json.loads(buckets)
        if not isinstance(parsed, dict):  # not a histogram (records never store one): no rows, as in SQL
            continue
        rows = [(parse_le(key), float(count)) for key, count in parsed.items()]
        if rows and not any(le == math.inf for le, _ in rows):
            rows.append((math.inf, _top([c for _, c in rows])))
        for le, count in rows:
            out["sample_id"].append(sid)
            out["service"].append(svc)
            out["ts"].append(ts)
            out["interval_s"].append(interval)
            out["le"].append(le)
            out["count"].append(count)
    return pa.table(out, schema=DERIVED["latency_buckets"])


def _scalar(con: Any, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


def _ts_chunks(con: Any, src: str, n: int, chunk: int) -> list[str]:
    """SQL conditions cutting the `n` rows of `src` into ts ranges of about `chunk` rows (one TRUE when small)."""
    if n <= chunk:
        return ["TRUE"]
    parts = -(-n // chunk)
    qs = ", ".join(repr(i / parts) for i in range(1, parts))
    cuts: list[datetime] = sorted({t for t in _scalar(con, f"SELECT quantile_disc(ts, [{qs}]) FROM {src}") or [] if t})
    conds = []
    lo: datetime | None = None
    for hi in [*cuts, None]:
        c = []
        if lo is not None:
            c.append(f"ts >= TIMESTAMP '{lo.isoformat(sep=' ')}'")
        if hi is not None:
            below = f"ts < TIMESTAMP '{hi.isoformat(sep=' ')}'"
            c.append(below if lo is not None else f"({below} OR ts IS NULL)")
        conds.append(" AND ".join(c))
        lo = hi
    return conds


def buckets_maintain(con: Any, added: str, removed: str | None) -> None:
    """Drop the buckets of replaced samples, add those of `added`.

    The JSON is parsed by DuckDB (`json_transform` to a MAP, then `unnest`), in ts ranges of at most about
    `CHUNK_SAMPLES` samples. Bucket keys are parsed by `parse_le` (one pass finds the distinct keys). Samples
    DuckDB cannot read as a map of numbers (counts written Infinity/NaN, duplicate keys, …) are derived in
    Python by `buckets_arrow`, as are their implied `+Inf` buckets."""
    if removed is not None:
        # the ts range lets DuckDB skip the row groups the old versions are not in
        lo, hi, untimed = con.execute(
            f"SELECT min(ts), max(ts), count(*) FILTER (WHERE ts IS NULL) FROM {removed}"
        ).fetchone() or (None, None, 0)
        gone = f"sample_id IN (SELECT id FROM {removed})"
        if untimed or lo is None:
            con.execute(f"DELETE FROM latency_buckets WHERE {gone}")
        else:
            con.execute(f"DELETE FROM latency_buckets WHERE ts BETWEEN ? AND ? AND {gone}", [lo, hi])
    src = f"(SELECT id, service, ts, interval_s, latency_buckets AS b FROM {added} WHERE latency_buckets IS NOT NULL)"
    # one streaming pass: the distinct key lists (samples mostly share a few layouts), and the samples left
    # to Python — text DuckDB cannot read, counts written NaN/Infinity (DuckDB reads those too, but Python's
    # reading is the reference) and, found below, a key written twice (DuckDB's MAP refuses it)
    found = con.execute(
        "SELECT kl, oid, count(*) FROM (SELECT CASE WHEN ks IS NULL OR contains(b, 'NaN') OR contains(b, 'Infinity') "
        "THEN NULL ELSE ks END AS kl, CASE WHEN kl IS NULL THEN id END AS oid "
        f"FROM (SELECT id, b, try(json_keys(b)) AS ks FROM {src})) GROUP BY ALL"
    ).fetchall()
    n = sum(int(c) for _, _, c in found)
    if not n:
        return
    odd = [str(i) for kl, i, _ in found if kl is None]
    lists = [[str(k) for k in kl] for kl, _, _ in found if kl is not None]
    keys = sorted({k for kl in lists for k in kl} | {_INF_KEY})
    if any(len(set(kl)) != len(kl) for kl in lists):
        odd += [
            str(i)
            for (i,) in con.execute(
                f"SELECT id FROM (SELECT id, try(json_keys(b)) AS ks FROM {src}) WHERE len(ks) <> list_unique(ks)"
            ).fetchall()
        ]
    les = [parse_le(k) for k in keys]
    inf_keys = [k for k, le in zip(keys, les, strict=True) if le == math.inf]
    mapped = src
    if odd:
        con.register("_ns_lb_odd_ids", pa.table({"id": pa.array(odd, pa.string())}))
        mapped = f"(SELECT * FROM {src} ANTI JOIN _ns_lb_odd_ids o USING (id))"
    con.register("_ns_le", pa.table({"key": pa.array(keys, pa.string()), "le": pa.array(les, pa.float64())}))
    try:
        inf_list = "[" + ", ".join("'" + k.replace("'", "''") + "'" for k in inf_keys) + "]::VARCHAR[]"
        # the implied +Inf bucket rides along as one more map entry, under the key '+Inf'
        entries = (
            f"CASE WHEN cardinality(m) = 0 OR list_has_any(map_keys(m), {inf_list}) THEN map_entries(m) "
            f"ELSE list_append(map_entries(m), {{'key': '{_INF_KEY}', 'value': list_max(map_values(m))}}) END"
        )
        parsed = f"(SELECT *, try(json_transform(b, '{_MAP}')) AS m FROM {mapped})"
        for cond in _ts_chunks(con, mapped, n - len(odd), CHUNK_SAMPLES):
            # JSON that is not an object maps to NULL and gives no row (as in `buckets_arrow`)
            con.execute(
                "INSERT INTO latency_buckets SELECT s.id, s.service, s.ts, s.interval_s, k.le, s.e.value FROM "
                f"(SELECT id, service, ts, interval_s, unnest({entries}) AS e FROM {parsed} "
                f"WHERE m IS NOT NULL AND {cond}) s JOIN _ns_le k ON s.e.key = k.key"
            )
        if odd:
            rows = con.execute(
                f"SELECT id, service, ts, interval_s, b AS latency_buckets FROM {src} SEMI JOIN _ns_lb_odd_ids o "
                "USING (id)"
            ).to_arrow_table()
            con.register("_ns_lb_odd", buckets_arrow({"service_samples": rows}))
            con.execute("INSERT INTO latency_buckets SELECT * FROM _ns_lb_odd")
    finally:
        for name in ("_ns_le", "_ns_lb_odd_ids", "_ns_lb_odd"):
            with contextlib.suppress(Exception):
                con.unregister(name)


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


_DAILY = (
    "SELECT date_trunc('day', b.ts) AS day, b.service, b.le, sum(b.count) AS count, count(b.count) AS samples "
    "FROM latency_buckets b {where} GROUP BY ALL"
)
_ON = "d.day = x.day AND d.service = x.service AND d.le = x.le"


def daily_maintain(con: Any, added: str, removed: str | None) -> None:
    """Keep `latency_daily` the daily sums of `latency_buckets` (run after `buckets_maintain`).

    - an empty rollup and nothing replaced (a first load, a rebuild): one aggregation of `latency_buckets`;
    - only new samples: their buckets' sums are added to the rows they fall in (new rows for new keys);
    - replaced samples: the (day, service) pairs the old and new versions fall in are recomputed."""
    hist = "latency_buckets IS NOT NULL"
    if removed is None:
        if _scalar(con, "SELECT count(*) FROM (SELECT 1 FROM latency_daily LIMIT 1)") == 0:
            con.execute(f"INSERT INTO latency_daily {_DAILY.format(where='')}")
            return
        lo, hi = con.execute(f"SELECT min(ts), max(ts) FROM {added} WHERE {hist}").fetchone() or (None, None)
        if lo is None:
            return
        where = f"WHERE b.ts BETWEEN ? AND ? AND b.sample_id IN (SELECT id FROM {added} WHERE {hist})"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_ld AS {_DAILY.format(where=where)}", [lo, hi])
        try:
            con.execute(
                "UPDATE latency_daily d SET count = d.count + x.count, samples = d.samples + x.samples "
                f"FROM _ns_ld x WHERE {_ON}"
            )
            con.execute(f"INSERT INTO latency_daily SELECT x.* FROM _ns_ld x ANTI JOIN latency_daily d ON {_ON}")
        finally:
            con.execute("DROP TABLE IF EXISTS _ns_ld")
        return
    touched = (
        f"SELECT date_trunc('day', ts) AS day, service FROM {added} WHERE {hist} "
        f"UNION SELECT date_trunc('day', ts), service FROM {removed} WHERE {hist}"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_ld AS SELECT DISTINCT * FROM ({touched})")
    try:
        lo, hi = con.execute("SELECT min(day), max(day) FROM _ns_ld").fetchone() or (None, None)
        if lo is None:
            return
        con.execute("DELETE FROM latency_daily d USING _ns_ld t WHERE d.day = t.day AND d.service = t.service")
        where = (
            "WHERE b.ts >= ? AND b.ts < ? + INTERVAL 1 DAY AND EXISTS (SELECT 1 FROM _ns_ld t "
            "WHERE t.day = date_trunc('day', b.ts) AND t.service = b.service)"
        )
        con.execute(f"INSERT INTO latency_daily {_DAILY.format(where=where)}", [lo, hi])
    finally:
        con.execute("DROP TABLE IF EXISTS _ns_ld")
