"""The store's incremental SQL for `latency_buckets` and `latency_daily` agrees with the Arrow builds.

After every upsert of a random sequence (new samples, identical re-sends, changed samples, samples without a
histogram or with an empty one, without `+Inf`, with keys such as "0.1"/"1e-1"/"+Inf"/"Inf", counts written
NaN or Infinity, raw JSON DuckDB cannot map), the store's two tables equal `northstar.derived.build_all` run
on the store's own `service_samples`. The chunk size is lowered so that large writes are cut for real.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.derived import build_all, latency
from northstar.records import validate_record
from northstar.schema import arrow_schema
from northstar.store import Store

START = datetime(2026, 3, 1)
# bound spellings: several parse to the same bound
KEYS = ("0.05", "0.1", "1e-1", "0.25", " 0.5", "1", "1.0", "2.5", "10")
INF_KEYS = ("+Inf", "Inf", "inf")


@st.composite
def histogram(draw: Any) -> str | None:
    """A histogram as the store keeps it (canonical JSON text), or None; sometimes raw text DuckDB can't map."""
    kind = draw(st.sampled_from(["none", "empty", "plain", "plain", "plain", "odd", "raw"]))
    if kind == "none":
        return None
    if kind == "empty":
        return "{}"
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5, unique=True))
    keys.sort(key=lambda k: float(k))
    inf = draw(st.sampled_from([None, *INF_KEYS]))
    if inf is not None:
        keys.append(inf)
    steps = draw(st.lists(st.integers(0, 40), min_size=len(keys), max_size=len(keys)))
    half = draw(st.booleans())
    counts: list[Any] = [sum(steps[: i + 1]) * (0.5 if half else 1) for i in range(len(keys))]
    if kind == "odd":  # the store writes these as NaN / Infinity (not JSON)
        i = draw(st.integers(0, len(counts) - 1))
        bad = draw(st.sampled_from([math.nan, math.inf]))
        counts = [bad if j >= i and (bad == math.inf or j == i) else c for j, c in enumerate(counts)]
    h = dict(zip(keys, counts, strict=True))
    if kind == "raw":  # a duplicate key and spacing: not a map to DuckDB; json.loads keeps the last
        body = ", ".join(f'"{k}" : {json.dumps(c)}' for k, c in h.items())
        return "{" + body + f', "{keys[0]}": {json.dumps(counts[0])}' + "}"
    validate_record("service_samples", _sample("x", "a", 0, h))  # a histogram the store would accept
    return json.dumps(h, sort_keys=True, separators=(",", ":"))


def _sample(sid: str, service: str, hour: int, buckets: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "service": service,
        "ts": START + timedelta(hours=hour),
        "interval_s": 3600.0,
        "requests": 1.0,
        "errors": 0.0,
        "latency_buckets": buckets,
    }


samples = st.builds(
    _sample,
    sid=st.sampled_from([f"s{i}" for i in range(24)]),  # later batches: new samples only, or some replaced
    service=st.sampled_from(["a", "b"]),
    hour=st.integers(0, 60),  # three days
    buckets=histogram(),
)
batches = st.lists(st.lists(samples, min_size=1, max_size=6), min_size=1, max_size=4)


def _batch(rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema("service_samples")
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.table(cols, schema=schema)


def _key(v: Any) -> Any:
    return repr(v) if isinstance(v, float) else v


def _rows(t: pa.Table) -> list[tuple[Any, ...]]:
    return sorted((tuple(_key(v) for v in r.values()) for r in t.to_pylist()), key=repr)


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-12)


def check(store: Store) -> None:
    tables = {"service_samples": store.con.execute("SELECT * FROM service_samples").to_arrow_table()}
    build_all(tables, only=["latency_buckets", "latency_daily"])
    got = store.con.execute("SELECT * FROM latency_buckets").to_arrow_table()
    assert _rows(got) == _rows(tables["latency_buckets"])
    want_daily = {(r["day"], r["service"], r["le"]): r for r in tables["latency_daily"].to_pylist()}
    got_daily = {
        (r["day"], r["service"], r["le"]): r
        for r in store.con.execute("SELECT * FROM latency_daily").to_arrow_table().to_pylist()
    }
    assert sorted(got_daily, key=repr) == sorted(want_daily, key=repr)
    for k, w in want_daily.items():
        g = got_daily[k]
        assert g["samples"] == w["samples"], k
        assert _same(g["count"], w["count"]), (k, g["count"], w["count"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, chunk=st.sampled_from([1, 2, 1_000_000]), resend=st.booleans())
def test_store_keeps_latency_tables_equal_to_the_arrow_build(
    batches: list[list[dict[str, Any]]], chunk: int, resend: bool
) -> None:
    saved = latency.CHUNK_SAMPLES
    latency.CHUNK_SAMPLES = chunk
    try:
        with Store.open(":memory:") as store:
            for rows in [*batches, batches[0]] if resend else batches:
                store.upsert("service_samples", _batch(rows))
                check(store)
    finally:
        latency.CHUNK_SAMPLES = saved


def test_implied_inf_bucket_and_odd_keys() -> None:
    rows = [
        _sample("p", "a", 1, '{"0.1":2,"1e-1":2,"0.5":5}'),  # no +Inf: one with the highest count
        _sample("q", "a", 2, '{"0.1":1,"Inf":4}'),
        _sample("r", "a", 3, '{"0.1":1,"0.5":NaN}'),
        _sample("s", "a", 4, "{}"),
        _sample("t", "b", 30, None),
    ]
    with Store.open(":memory:") as store:
        store.upsert("service_samples", _batch(rows))
        check(store)
        got = store.con.execute(
            "SELECT sample_id, le, count FROM latency_buckets WHERE le = 'inf'::DOUBLE ORDER BY sample_id"
        ).fetchall()
        assert [(s, c) for s, _, c in got[:2]] == [("p", 5.0), ("q", 4.0)]
        assert got[2][0] == "r" and math.isnan(got[2][2])
        daily = store.con.execute(
            "SELECT le, count, samples FROM latency_daily WHERE service = 'a' AND le < 1 ORDER BY le"
        ).fetchall()
        assert daily[0] == (0.1, 6.0, 4)  # "0.1" and "1e-1" are one bound (p counts twice, as in the Arrow build)
        assert daily[1][0] == 0.5 and math.isnan(daily[1][1]) and daily[1][2] == 2


def test_chunks_partition_the_rows() -> None:
    with Store.open(":memory:") as store:
        store.con.execute(
            "CREATE TABLE t AS SELECT TIMESTAMP '2026-01-01' + INTERVAL (i // 3) HOUR AS ts FROM range(100) r(i)"
        )
        conds = latency._ts_chunks(store.con, "t", 100, 10)
        sizes = [store.con.execute(f"SELECT count(*) FROM t WHERE {c}").fetchone()[0] for c in conds]  # type: ignore[index]
        assert sum(sizes) == 100 and len(sizes) >= 9 and max(sizes) <= 10 + 3  # a chunk, plus ties
        assert latency._ts_chunks(store.con, "t", 100, 100) == ["TRUE"]


def test_large_writes_are_cut_into_chunks() -> None:
    """A bulk load with a chunk of 7 samples: several INSERTs, the same tables; then a replacement."""
    rows = [_sample(f"s{i}", "ab"[i % 2], i, '{"0.1":1,"0.5":3}') for i in range(50)]
    saved = latency.CHUNK_SAMPLES
    latency.CHUNK_SAMPLES = 7
    try:
        with Store.open(":memory:") as store:
            store.upsert("service_samples", _batch(rows))
            assert store.counts()["latency_buckets"] == 150
            check(store)
            changed = [{**r, "latency_buckets": '{"0.25":2}'} for r in rows[10:40]]
            store.upsert("service_samples", _batch(changed))
            assert store.counts()["latency_buckets"] == 150 - 30
            check(store)
    finally:
        latency.CHUNK_SAMPLES = saved
