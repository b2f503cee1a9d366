"""Ingestion benchmark: generated activity events, loaded into a fresh store from Parquet, CSV (and JSONL).

    python bench/ingest.py --rows 10000000
    python bench/ingest.py --rows 1000000 --formats csv,parquet,jsonl --reingest --baseline

Data files are generated once per row count under bench/data/ (git-ignored) and reused. Each load runs in
its own process so the peak RSS printed is that load's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CORES = os.cpu_count() or 1
DATA = HERE / "data"
ACTIONS = [
    "log_run",
    "register_model",
    "deploy",
    "open_notebook",
    "run_pipeline",
    "view_dashboard",
    "feature_request",
    "first_pipeline",
    "create_feature",
    "promote",
]
PROPERTIES = [None] * 14 + [json.dumps({"pipeline": f"p{i}", "gpu": i % 2 == 0}) for i in range(6)]


def generate(rows: int, seed: int = 7) -> pa.Table:
    """`rows` activity events over 2025 by 5,000 people in 50 teams on 20 components."""
    rng = np.random.default_rng(seed)
    idx = np.arange(rows)
    start = np.datetime64("2025-01-01T00:00:00", "s")
    ts = start + np.sort(rng.integers(0, 365 * 86400, rows)).astype("timedelta64[s]")
    actor = rng.integers(0, 5000, rows)
    team = pa.array(np.char.add("team", (actor % 50).astype(str)))
    team = pc.if_else(pa.array(rng.random(rows) < 0.1), pa.nulls(rows, pa.string()), team)
    return pa.table(
        {
            "id": pa.array(np.char.add("e", idx.astype(str))),
            "ts": pa.array(ts, pa.timestamp("s")).cast(pa.timestamp("us")),
            "actor": pa.array(np.char.add("user", actor.astype(str))),
            "team": team,
            "component": pa.array(np.char.add("component", rng.integers(0, 20, rows).astype(str))),
            "action": pa.array(np.array(ACTIONS)[rng.integers(0, len(ACTIONS), rows)]),
            "properties": pa.array([PROPERTIES[i] for i in rng.integers(0, len(PROPERTIES), rows)], pa.string()),
        }
    )


def data_files(rows: int, formats: list[str]) -> dict[str, Path]:
    """Generate (once) the data files for `rows` events."""
    DATA.mkdir(parents=True, exist_ok=True)
    paths = {fmt: DATA / f"activity-{rows}.{fmt}" for fmt in formats}
    if all(p.exists() for p in paths.values()):
        return paths
    t = time.perf_counter()
    table = generate(rows)
    text = table.set_column(1, "ts", pc.strftime(table.column("ts"), "%Y-%m-%dT%H:%M:%SZ"))
    for fmt, path in paths.items():
        if path.exists():
            continue
        if fmt == "parquet":
            pq.write_table(table, path, row_group_size=1 << 20)
        elif fmt == "csv":
            pacsv.write_csv(text, path)
        elif fmt == "jsonl":
            with open(path, "w") as f:
                for batch in text.to_batches(200_000):
                    for row in batch.to_pylist():
                        f.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    print(f"generated {rows:,} rows in {time.perf_counter() - t:.1f} s under {DATA}", file=sys.stderr)
    return paths


def baseline(path: str, db: str) -> dict[str, float]:
    """DuckDB alone, no validation: `CREATE TABLE AS SELECT * FROM read_csv/read_parquet(path)`."""
    import duckdb

    Path(db).unlink(missing_ok=True)
    con = duckdb.connect(db)
    reader = "read_parquet" if path.endswith(".parquet") else "read_csv" if path.endswith(".csv") else "read_json"
    t, cpu = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE activity AS SELECT * FROM {reader}('{path}')")
    out = {"baseline_seconds": time.perf_counter() - t, "baseline_cpu_seconds": time.process_time() - cpu}
    con.close()
    Path(db).unlink(missing_ok=True)
    return out


def child(path: str, db: str, reingest: bool, with_baseline: bool) -> None:
    """Load one file into a fresh store and print timings as JSON (run as a subprocess)."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from northstar.ingest import ingest_files
    from northstar.store import Store

    Path(db).unlink(missing_ok=True)
    Path(db + ".wal").unlink(missing_ok=True)
    out: dict[str, object] = {}
    with Store.open(db) as store:
        t, cpu = time.perf_counter(), time.process_time()
        result = ingest_files(store, "activity", [path], progress=False)
        out["seconds"] = time.perf_counter() - t
        out["cpu_seconds"] = time.process_time() - cpu
        out["rows"] = result.rows
        out["inserted"] = result.inserted
        if reingest:
            t = time.perf_counter()
            again = ingest_files(store, "activity", [path], progress=False)
            out["reingest_seconds"] = time.perf_counter() - t
            out["unchanged"] = again.unchanged
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(db).unlink(missing_ok=True)
    if with_baseline:
        out.update(baseline(path, db))
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="parquet,csv", help="comma-separated: parquet, csv, jsonl")
    parser.add_argument("--reingest", action="store_true", help="also time loading the same file again")
    parser.add_argument(
        "--baseline", action="store_true", help="also time DuckDB alone loading the file, without any validation"
    )
    parser.add_argument("--child", nargs=2, metavar=("PATH", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.reingest, args.baseline)
        return
    formats = args.formats.split(",")
    paths = data_files(args.rows, formats)
    print(f"ingest benchmark: {args.rows:,} activity rows, {CORES} cores, load average {os.getloadavg()[0]:.1f}")
    for fmt in formats:
        db = str(DATA / f"bench-{fmt}.duckdb")
        cmd = [sys.executable, __file__, "--child", str(paths[fmt]), db]
        cmd += (["--reingest"] if args.reingest else []) + (["--baseline"] if args.baseline else [])
        res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        size = paths[fmt].stat().st_size / 1e6
        line = (
            f"{fmt:8} {res['rows']:>12,} rows  {size:8,.0f} MB  {res['seconds']:6.1f} s  "
            f"{res['rows'] / res['seconds']:>11,.0f} rows/s  (CPU {res['cpu_seconds']:.1f} s on {CORES} cores)  "
            f"peak RSS {res['peak_rss_mb']:,.0f} MB"
        )
        if args.reingest:
            line += f"  (again: {res['reingest_seconds']:.1f} s, {res['unchanged']:,} unchanged)"
        if args.baseline:
            secs = res["baseline_seconds"]
            line += (
                f"\n{'':8} DuckDB alone, unvalidated CREATE TABLE AS: {secs:.1f} s, {res['rows'] / secs:,.0f} rows/s"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
