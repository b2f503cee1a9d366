"""The scorecard benchmark: northstar on DuckDB against a plain pandas implementation, 1M and 10M events.

    python bench/scorecard.py [--events 1000000 10000000] [--seed 1] [--keep-data] [--skip-pandas]
                              [--no-check] [--out bench/results/latest.json]

For each size it generates the data (bench/generate.py → Parquet), ingests it into a DuckDB store, then times
the full scorecard (every catalog metric, weekly, over the whole year: by team where the metric supports it,
else by its default unit when that is a breakdown, else overall) through northstar, and the same scorecard
through bench/pandas_baseline.py reading the same Parquet. Each side runs in its own child process, so its
peak RSS is its own. Both results are compared row by row (value, n and extras within 1e-6 relative); a
disagreement is printed with sample rows and makes the exit code 1 (unless --no-check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

IDENTITY = ("cohort", "offset", "step", "state", "key", "slo", "severity", "dimension")
REL_TOL = 1e-6
DUCKDB_THREADS = 2
DUCKDB_MEMORY = "8GB"


def log(msg: str) -> None:
    print(msg, flush=True)


# -- what is computed, with which settings -----------------------------------------------------------------


def plan() -> dict[str, str | None]:
    """The full scorecard: metric → breakdown (team if supported, else its default unit if a breakdown, else none)."""
    from northstar.metrics import catalog

    out: dict[str, str | None] = {}
    for name in catalog.names():
        m = catalog.get(name)
        if "team" in m.dims:
            out[name] = "team"
        elif m.default_unit_of_analysis in m.dims:
            out[name] = m.default_unit_of_analysis
        else:
            out[name] = None
    return out


def settings_dict(meta: dict[str, Any]) -> dict[str, Any]:
    """northstar.yaml settings for the benchmark: latency budgets and two SLOs on services with samples."""
    sampled = meta["sampled_services"]
    budgets = {s: [0.1, 0.25, 0.3, 0.5][i % 4] for i, s in enumerate(sampled[::2])}
    slos = [
        {
            "name": "availability",
            "service": sampled[0],
            "indicator": "availability",
            "objective": 0.999,
            "window": "28d",
        },
        {
            "name": "latency",
            "service": sampled[1 % len(sampled)],
            "indicator": "latency",
            "objective": 0.99,
            "window": "28d",
            "latency_threshold": 0.25,
        },
    ]
    return {"reliability": {"latency_budgets": budgets, "slos": slos}}


def baseline_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """The same settings, flattened for the pandas baseline (durations in seconds, DESIGN.md defaults)."""
    s = settings_dict(meta)["reliability"]
    slos = [{**o, "window_s": int(o["window"].rstrip("d")) * 86_400} for o in s["slos"]]
    return {
        "latency_budgets": s["latency_budgets"],
        "slos": slos,
        "activation_actions": [],
        "activation_window_s": 14 * 86_400,
        "value_actions": ["deploy"],
        "funnel_window_s": 30 * 86_400,
        "incident_link_window_s": 86_400,
        "saturation_threshold": 0.8,
        "min_group_size": 5,
    }


# -- the child processes ----------------------------------------------------------------------------------------


def _rss_mib() -> float:
    """This process's peak RSS so far, MiB. VmHWM belongs to the process image (it restarts at exec), whereas
    ru_maxrss survives exec and would start at the parent's size when the parent is the bigger."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_ingest(data: Path, db: Path, how: str = "store") -> dict[str, Any]:
    """Load every kind's Parquet into a fresh DuckDB store, with the derived latency_buckets table.

    `store`: through `northstar.store.Store.upsert_relation` (what `northstar ingest` ends with: idempotent
    upserts, derived tables kept in step); `sql`: plain `INSERT … SELECT FROM read_parquet` plus the
    derived table in SQL (the floor for any ingest)."""
    base = _rss_mib()
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    timings = _ingest_store(data, db) if how == "store" else _ingest_sql(data, db)
    return {"wall": time.perf_counter() - t0, "timings": timings, "base_rss_mib": base, "how": how}


def _ingest_store(data: Path, db: Path) -> dict[str, float]:
    from northstar.records import KINDS
    from northstar.store import Store

    timings = {}
    store = Store.open(db)
    store.con.execute(
        f"SET threads={DUCKDB_THREADS}; SET memory_limit='{DUCKDB_MEMORY}'; SET enable_progress_bar=false"
    )
    for kind in KINDS:
        path = data / f"{kind}.parquet"
        if path.exists():
            t = time.perf_counter()
            store.con.execute(f"CREATE OR REPLACE TEMP VIEW _bench_src AS SELECT * FROM read_parquet('{path}')")
            store.upsert_relation(kind, "_bench_src")
            timings[kind] = time.perf_counter() - t
    store.con.execute("DROP VIEW _bench_src; CHECKPOINT")
    store.close()
    return timings


def _ingest_sql(data: Path, db: Path) -> dict[str, float]:
    import duckdb

    from northstar.records import COLUMNS, KINDS
    from northstar.schema import SQL_TYPES, arrow_schema

    con = duckdb.connect(str(db))
    con.execute(f"SET threads={DUCKDB_THREADS}; SET memory_limit='{DUCKDB_MEMORY}'; SET enable_progress_bar=false")
    timings = {}
    for kind in KINDS:
        t = time.perf_counter()
        cols = ", ".join(f'"{c.name}" {SQL_TYPES[c.type]}' for c in COLUMNS[kind])
        con.execute(f'CREATE TABLE "{kind}" ({cols})')
        path = data / f"{kind}.parquet"
        if path.exists():
            names = ", ".join(f'"{c.name}"' for c in COLUMNS[kind])
            con.execute(f"INSERT INTO \"{kind}\" SELECT {names} FROM read_parquet('{path}')")
        timings[kind] = time.perf_counter() - t
    t = time.perf_counter()
    assert arrow_schema("latency_buckets").names == ["sample_id", "service", "ts", "interval_s", "le", "count"]
    con.execute(
        """CREATE TABLE latency_buckets AS
        SELECT s.id AS sample_id, s.service, s.ts, s.interval_s,
               CASE WHEN lower(ltrim(j.key, '+')) = 'inf' THEN 'inf'::DOUBLE ELSE j.key::DOUBLE END AS le,
               j.value::DOUBLE AS "count"
        FROM service_samples s, json_each(s.latency_buckets) j
        WHERE s.latency_buckets IS NOT NULL"""
    )
    timings["latency_buckets (derived)"] = time.perf_counter() - t
    con.execute("CHECKPOINT")
    con.close()
    return timings


def groups(scorecard: dict[str, str | None]) -> dict[str | None, list[str]]:
    """The scorecard as `northstar metrics` runs it: one call per breakdown, with that breakdown's metrics."""
    out: dict[str | None, list[str]] = {}
    for name, by in scorecard.items():
        out.setdefault(by, []).append(name)
    return out


def worker_migrate(db: Path) -> dict[str, Any]:
    """Bring the store to this northstar's schema version (a kept store may be older; a store loaded with
    `--ingest sql` has no derived tables yet): what the next `northstar ingest` would do first."""
    import duckdb

    from northstar.store import SCHEMA_VERSION, Store

    t0 = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        has_meta = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta'").fetchone()
        row = (
            con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if has_meta and has_meta[0]
            else None
        )
    version = int(row[0]) if row else 0
    if version != SCHEMA_VERSION:
        Store.open(db).close()  # a writable open migrates
    return {"wall": time.perf_counter() - t0, "from": version, "to": SCHEMA_VERSION}


def worker_northstar(db: Path, meta: dict[str, Any], scorecard: dict[str, str | None]) -> dict[str, Any]:
    """Compute the scorecard through northstar on the DuckDB store: one `compute()` per breakdown (what one
    `northstar metrics --by …` call does), so that what a run shares between its metrics counts.

    `group_timings` are the calls' wall times. `timings` per metric are the time from `compute`'s progress
    callback for the metric to the next one to come back (on DuckDB the runner executes queries beside Python
    and shapes each metric's rows as soon as its result is ready, so these are the intervals between results,
    not each metric's own cost: `--profile` gives that). A call that fails is repeated one metric at a time,
    so that a metric being written right now does not hide the others.

    Imports are not timed, on either side: this includes Ibis finding its DuckDB backend (`ibis.duckdb`, an
    import and an entry-point scan, ~0.1 s), which the first `ibis.duckdb.connect` would otherwise do."""
    import ibis
    import ibis.backends.duckdb  # the import the first `ibis.duckdb` would do

    from northstar.config import Settings
    from northstar.metrics import Query, compute

    assert ibis.duckdb is not None  # resolve the backend now (its entry-point scan), not in the timed part
    base = _rss_mib()
    settings = Settings.model_validate(settings_dict(meta))
    since, until = datetime.fromisoformat(meta["since"]), datetime.fromisoformat(meta["until"])
    t0 = time.perf_counter()
    con = ibis.duckdb.connect(str(db), read_only=True)
    con.raw_sql(f"SET threads={DUCKDB_THREADS}; SET memory_limit='{DUCKDB_MEMORY}'; SET TimeZone='UTC'")
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    group_timings: dict[str, float] = {}
    errors: dict[str, str] = {}
    warnings: list[str] = []
    for by, names in groups(scorecard).items():
        query = Query(period="week", by=by, since=since, until=until)
        marks: list[tuple[str, float]] = []
        t = time.perf_counter()
        try:
            res = compute(con, names, query, settings, progress=_marker(marks))
        except Exception as exc:  # a metric being written right now may fail: find it, keep the others
            log(f"  ! northstar by {by}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]} (one at a time now)")
            for name in names:
                t1 = time.perf_counter()
                try:
                    one = compute(con, [name], query, settings)
                except Exception as exc1:
                    errors[name] = f"{type(exc1).__name__}: {str(exc1).splitlines()[0][:300]}"
                    timings[name] = time.perf_counter() - t1
                    continue
                timings[name] = time.perf_counter() - t1
                rows.extend(one.rows)
                warnings.extend(one.warnings)
            group_timings[str(by)] = time.perf_counter() - t
            continue
        end = time.perf_counter()
        group_timings[str(by)] = end - t
        for (name, start), (_, stop) in zip(marks, [*marks[1:], ("", end)], strict=True):
            timings[name] = stop - start
        rows.extend(res.rows)
        warnings.extend(res.warnings)
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "timings": timings,
        "group_timings": group_timings,
        "rows": rows,
        "errors": errors,
        "warnings": warnings,
        "base_rss_mib": base,
    }


def _marker(marks: list[tuple[str, float]]) -> Any:
    """A `compute` progress callback that notes when each metric starts."""
    return lambda name: marks.append((name, time.perf_counter()))


def worker_profile(db: Path, meta: dict[str, Any], scorecard: dict[str, str | None]) -> dict[str, Any]:
    """Where each metric's time goes: building the Ibis expression, compiling it to SQL, DuckDB executing it
    (to a DataFrame), the data-warning queries, and the runner's Python (the rest of `compute`)."""
    import ibis

    from northstar.config import Settings
    from northstar.metrics import Query, catalog, compute
    from northstar.metrics.context import Context
    from northstar.metrics.run import whole_days

    settings = Settings.model_validate(settings_dict(meta))
    since, until = datetime.fromisoformat(meta["since"]), datetime.fromisoformat(meta["until"])
    con = ibis.duckdb.connect(str(db), read_only=True)
    con.raw_sql(f"SET threads={DUCKDB_THREADS}; SET memory_limit='{DUCKDB_MEMORY}'; SET TimeZone='UTC'")
    out: dict[str, dict[str, float]] = {}
    for name, by in scorecard.items():
        query = Query(period="week", by=by, since=since, until=until)
        try:
            t0 = time.perf_counter()
            # as `compute` decides it, so the rollups answer as they do there
            whole = whole_days(query, since, until)
            ctx = Context(
                con=con, settings=settings, query=query, window_start=since, window_end=until, whole_days=whole
            )
            expr = catalog.get(name).compute(ctx)
            t1 = time.perf_counter()
            sql = ibis.to_sql(expr, dialect="duckdb")
            t2 = time.perf_counter()
            df = con.execute(expr)
            t3 = time.perf_counter()
            for scalar, _ in ctx.checks:
                con.execute(scalar)
            t4 = time.perf_counter()
            compute(con, [name], query, settings)
            t5 = time.perf_counter()
        except Exception as exc:
            out[name] = {"error": str(exc)[:200]}  # type: ignore[dict-item]
            continue
        out[name] = {
            "build": t1 - t0,
            "compile": t2 - t1,
            "execute": t3 - t2,
            "checks": t4 - t3,
            "compute": t5 - t4,
            "runner_python": max(0.0, (t5 - t4) - (t1 - t0) - (t4 - t2)),
            "result_rows": float(len(df)),
            "sql_chars": float(len(str(sql))),
        }
    return {"profile": out}


def worker_pandas(data: Path, meta: dict[str, Any], scorecard: dict[str, str | None]) -> dict[str, Any]:
    """Read the Parquet files and compute the scorecard with the pandas baseline."""
    import pandas_baseline as pb

    base = _rss_mib()
    t0 = time.perf_counter()
    frames = pb.load(data)
    load_s = time.perf_counter() - t0
    b = pb.Bench(
        frames,
        datetime.fromisoformat(meta["since"]),
        datetime.fromisoformat(meta["until"]),
        baseline_settings(meta),
    )
    timings: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for name, by in scorecard.items():
        t = time.perf_counter()
        try:
            got = pb.run(b, {name: by})
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            got = {}
        timings[name] = time.perf_counter() - t
        for r in got.values():
            rows.extend(r)
    wall = time.perf_counter() - t0
    implemented = sorted(
        {r["metric"] for r in rows} | {n for n, by in scorecard.items() if pb.SPECS.get(n) and by in pb.SPECS[n].by}
    )
    return {
        "wall": wall,
        "load": load_s,
        "timings": timings,
        "rows": rows,
        "errors": errors,
        "implemented": implemented,
        "base_rss_mib": base,
    }


def run_child(kind: str, args: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; return its result with its own peak RSS (wait4)."""
    spec, result = tmp / f"{kind}.in.pkl", tmp / f"{kind}.out.pkl"
    spec.write_bytes(pickle.dumps(args))
    result.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(spec), str(result)])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 or not result.exists():
        raise RuntimeError(f"the {kind} worker failed (exit {proc.returncode})")
    out: dict[str, Any] = pickle.loads(result.read_bytes())
    out.setdefault("peak_rss_mib", usage.ru_maxrss / 1024)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime
    return out


def worker_main(kind: str, spec: Path, result: Path) -> int:
    a = pickle.loads(spec.read_bytes())
    out: dict[str, Any]
    if kind == "ingest":
        out = worker_ingest(a["data"], a["db"], a["how"])
    elif kind == "migrate":
        out = worker_migrate(a["db"])
    elif kind == "northstar":
        out = worker_northstar(a["db"], a["meta"], a["plan"])
    elif kind == "profile":
        out = worker_profile(a["db"], a["meta"], a["plan"])
    else:
        out = worker_pandas(a["data"], a["meta"], a["plan"])
    out["peak_rss_mib"] = _rss_mib()
    result.write_bytes(pickle.dumps(out))
    return 0


# -- agreement ---------------------------------------------------------------------------------------------------


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["metric"], r["period_start"], r.get("group"), *(_norm(r.get(k)) for k in IDENTITY))


def _norm(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def same(a: Any, b: Any, abs_tol: float = 1e-9) -> bool:
    """Equal, or within REL_TOL (or abs_tol) for numbers; null only equals null."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=abs_tol)
    return _norm(a) == _norm(b)


# Delivery durations are documented as millisecond-precise in northstar (so that Spark agrees): compare
# seconds-valued delivery metrics to the millisecond as well as to REL_TOL.
MS_PRECISE = {
    "lead_time_for_changes",
    "time_to_deploy",
    "deployment_duration",
    "mttr",
    "failed_deployment_recovery_time",
    "dora_band",
}


def compare(ns_rows: list[dict[str, Any]], pd_rows: list[dict[str, Any]], metrics: list[str]) -> dict[str, Any]:
    """Row-by-row agreement for `metrics`: per metric, rows compared and the differences found.

    Rows are matched on (period_start, group, identity extras); then `value`, `n` and every extra the pandas
    row carries must agree. A row on one side only is a difference too ("empty" when it has no data).
    A row without `suppressed` counts as not suppressed. Rows without data (null or 0 value, n = 0) on one
    side only are kept apart in `empty_rows`: they show a different grid, not a different number.
    """
    ns: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    pdr: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    for rows, into in ((ns_rows, ns), (pd_rows, pdr)):
        for r in rows:
            if r["metric"] in metrics:
                into[r["metric"]][_key(r)] = r
    report: dict[str, Any] = {}
    for m in metrics:
        diffs: list[dict[str, Any]] = []
        a, b = ns.get(m, {}), pdr.get(m, {})
        tol = 1e-3 if m in MS_PRECISE else 1e-9
        for k in sorted(set(a) | set(b), key=str):
            ra, rb = a.get(k), b.get(k)
            if ra is None or rb is None:
                present = ra or rb
                assert present is not None
                empty = present.get("value") in (None, 0) and not present.get("n")
                side = "pandas only" if ra is None else "northstar only"
                diffs.append({"key": k[1:], "what": side + (" (empty row)" if empty else ""), "row": present})
                continue
            fields = ["value", "n", *(f for f in rb if f not in ("metric", "period", "period_start", "by", "group"))]
            for f in dict.fromkeys(fields):
                if f in IDENTITY:
                    continue
                va, vb = ra.get(f), rb.get(f)
                if f == "suppressed":
                    va, vb = bool(va), bool(vb)
                if not same(va, vb, tol if f in ("value", "sli") else 1e-9):
                    diffs.append({"key": k[1:], "what": f, "northstar": va, "pandas": vb})
        shape = [d for d in diffs if d["what"].endswith("(empty row)")]
        diffs = [d for d in diffs if not d["what"].endswith("(empty row)")]
        report[m] = {
            "rows": len(set(a) | set(b)),
            "northstar_rows": len(a),
            "pandas_rows": len(b),
            "diffs": diffs,
            "empty_rows": shape,
        }
    return report


# -- the run ---------------------------------------------------------------------------------------------------


def _gen(events: int, seed: int, data: Path) -> tuple[dict[str, Any], float]:
    import generate

    marker = data / "meta.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("events") == events and meta.get("seed") == seed and meta.get("version") == _gen_version():
            return meta, 0.0
        shutil.rmtree(data)
    t0 = time.perf_counter()
    meta = generate.generate(events, seed, data)
    meta["version"] = _gen_version()
    marker.write_text(json.dumps(meta, indent=2))
    return meta, time.perf_counter() - t0


def _gen_version() -> str:
    import hashlib

    return hashlib.sha256((BENCH / "generate.py").read_bytes()).hexdigest()[:12]


def _fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def run_size(events: int, args: argparse.Namespace, scorecard: dict[str, str | None]) -> dict[str, Any]:
    data = BENCH / "data" / f"{events}-seed{args.seed}"
    tmp = data / "work"
    log(f"\n== {events:,} activity events (seed {args.seed}) ==")
    meta, gen_s = _gen(events, args.seed, data)
    tmp.mkdir(parents=True, exist_ok=True)
    log(
        f"data      {'generated in ' + _fmt_s(gen_s) if gen_s else 'reused'}: "
        + ", ".join(f"{k} {v:,}" for k, v in meta["rows"].items())
    )
    db = data / "northstar.duckdb"
    done = data / "ingest.json"  # a store built from this data (kept with --keep-data) is reused
    stamp = {"data": meta.get("version"), "how": args.ingest}
    if db.exists() and done.exists() and json.loads(done.read_text()).get("stamp") == stamp:
        ingest = json.loads(done.read_text())["ingest"]
        log(f"ingest    reused the store built earlier (that ingest took {_fmt_s(ingest['wall'])})")
    else:
        done.unlink(missing_ok=True)
        ingest = run_child("ingest", {"data": data, "db": db, "how": args.ingest}, tmp)
        done.write_text(json.dumps({"stamp": stamp, "ingest": ingest}))
        log(
            f"ingest    {_fmt_s(ingest['wall'])} (Parquet → DuckDB store via {args.ingest}, "
            f"peak RSS {ingest['peak_rss_mib']:.0f} MiB)"
        )
    migrate = run_child("migrate", {"db": db}, tmp)
    if migrate["from"] != migrate["to"]:
        log(f"store     schema version {migrate['from']} → {migrate['to']} in {_fmt_s(migrate['wall'])}")
    log(f"northstar computing {len(scorecard)} metrics, one call per breakdown …")
    ns = run_child("northstar", {"db": db, "meta": meta, "plan": scorecard}, tmp)
    log(f"northstar {_fmt_s(ns['wall'])}, peak RSS {ns['peak_rss_mib']:.0f} MiB ({len(ns['rows']):,} rows)")
    log("          " + ", ".join(f"by {by}: {_fmt_s(t)}" for by, t in ns["group_timings"].items()))
    for name, err in ns["errors"].items():
        log(f"  ! northstar {name}: {err}")
    out: dict[str, Any] = {
        "events": events,
        "loadavg_after": os.getloadavg(),
        "rows": meta["rows"],
        "generate_s": gen_s,
        "ingest": {k: ingest[k] for k in ("wall", "timings", "peak_rss_mib", "base_rss_mib", "how", "cpu_s")},
        "migrate": {k: migrate[k] for k in ("wall", "from", "to")},
        "northstar": {
            k: ns[k] for k in ("wall", "timings", "group_timings", "errors", "peak_rss_mib", "base_rss_mib", "cpu_s")
        },
        "northstar_warnings": ns["warnings"],
    }
    if args.profile:
        log("profile   where the time of each metric goes …")
        out["profile"] = run_child("profile", {"db": db, "meta": meta, "plan": scorecard}, tmp)["profile"]
    if not args.skip_pandas:
        log("pandas    computing …")
        pdr = run_child("pandas", {"data": data, "meta": meta, "plan": scorecard}, tmp)
        log(
            f"pandas    {_fmt_s(pdr['wall'])} (read Parquet {_fmt_s(pdr['load'])}), "
            f"peak RSS {pdr['peak_rss_mib']:.0f} MiB ({len(pdr['rows']):,} rows)"
        )
        for name, err in pdr["errors"].items():
            log(f"  ! pandas {name}: {err}")
        both = [m for m in pdr["implemented"] if m not in ns["errors"] and m not in pdr["errors"]]
        ns_cmp = sum(ns["timings"][m] for m in both)
        pd_cmp = sum(pdr["timings"][m] for m in both) + pdr["load"]
        out["pandas"] = {
            k: pdr[k] for k in ("wall", "load", "timings", "errors", "peak_rss_mib", "base_rss_mib", "cpu_s")
        }
        out["compared_metrics"] = both
        out["not_compared"] = sorted(set(scorecard) - set(both))
        out["ratio"] = pdr["wall"] / ns["wall"]
        out["ratio_compared"] = pd_cmp / ns_cmp if ns_cmp else None
        out["agreement"] = compare(ns["rows"], pdr["rows"], both) if not args.no_check else {}
    if not args.keep_data:
        shutil.rmtree(data, ignore_errors=True)
    return out


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    for r in [header, *rows]:
        log(
            "  "
            + "  ".join(x.ljust(w) if k == 0 else x.rjust(w) for k, (x, w) in enumerate(zip(r, widths, strict=True)))
        )


def _summary(results: list[dict[str, Any]]) -> None:
    log("\n== summary (wall time; CPU time of the process in brackets) ==")
    rows = []
    for r in results:
        ns, p = r["northstar"], r.get("pandas")
        rows.append(
            [
                f"{r['events']:,}",
                f"{_fmt_s(ns['wall'])} [{ns['cpu_s']:.0f}]",
                f"{_fmt_s(p['wall'])} [{p['cpu_s']:.0f}]" if p else "-",
                f"{r['ratio']:.1f}× [{p['cpu_s'] / ns['cpu_s']:.1f}×]" if p else "-",
                f"{ns['peak_rss_mib']:.0f} MiB",
                f"{p['peak_rss_mib']:.0f} MiB" if p else "-",
                f"{_fmt_s(r['ingest']['wall'])}",
                " ".join(f"{x:.1f}" for x in r["loadavg_after"]),
            ]
        )
    head = ["events", "northstar", "pandas", "ratio", "ns peak RSS", "pd peak RSS", "ingest", "load avg"]
    _table(head, rows)


def _timings(last: dict[str, Any], scorecard: dict[str, str | None]) -> None:
    log(f"\nper-metric wall time at {last['events']:,} events (slowest first):")
    ns_t, pd_t = last["northstar"]["timings"], (last.get("pandas") or {}).get("timings", {})
    rows = []
    for name in sorted(ns_t, key=lambda n: -ns_t[n]):
        failed = " (failed)" if name in last["northstar"]["errors"] else ""
        pt = pd_t.get(name)
        rows.append(
            [name, str(scorecard.get(name)), f"{ns_t[name]:.2f} s{failed}", "-" if pt is None else f"{pt:.2f} s"]
        )
    _table(["metric", "by", "northstar", "pandas"], rows)
    prof = last.get("profile")
    if prof:
        log(f"\nwhere northstar's time goes at {last['events']:,} events (seconds; execute = SQL compile + DuckDB):")
        rows = [
            [
                n,
                *(f"{prof[n][k]:.2f}" for k in ("build", "compile", "execute", "checks", "runner_python")),
                f"{prof[n]['result_rows']:.0f}",
            ]
            for n in sorted(prof, key=lambda n: -prof[n].get("compute", 0))
            if "error" not in prof[n]
        ]
        _table(["metric", "build", "compile", "execute", "checks", "python", "rows"], rows)


def _agreement(r: dict[str, Any]) -> bool:
    report = r["agreement"]
    bad = {m: v for m, v in report.items() if v["diffs"]}
    log(f"\nagreement at {r['events']:,} events: {len(report) - len(bad)}/{len(report)} metrics agree")
    if r["not_compared"]:
        log("  not compared (no pandas implementation or an error): " + ", ".join(r["not_compared"]))
    for m, v in report.items():
        if v["empty_rows"]:
            sides = Counter(d["what"] for d in v["empty_rows"])
            log(
                f"  ~ {m}: grid differs, rows without data on one side only: "
                + ", ".join(f"{k} {n}" for k, n in sides.items())
            )
            log(f"      e.g. {json.dumps(v['empty_rows'][0]['row'], default=str)[:300]}")
    for m, v in bad.items():
        kinds = Counter(d["what"] for d in v["diffs"])
        summary = ", ".join(f"{k}: {n}" for k, n in kinds.items())
        log(f"  ✗ {m}: {len(v['diffs'])} differences over {v['rows']} rows ({summary})")
        for d in v["diffs"][:4]:
            log(f"      {json.dumps(d, default=str)[:400]}")
    return not bad


def print_report(results: list[dict[str, Any]], scorecard: dict[str, str | None]) -> bool:
    """Print the summary, per-metric timings and disagreements; True when everything agrees."""
    _summary(results)
    _timings(results[-1], scorecard)
    return all([_agreement(r) for r in results if r.get("agreement")])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        return worker_main(argv[1], Path(argv[2]), Path(argv[3]))
    p = argparse.ArgumentParser(description="northstar scorecard benchmark (DuckDB) against pandas")
    p.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-data", action="store_true", help="keep (and reuse) the generated data in bench/data/")
    p.add_argument("--skip-pandas", action="store_true", help="time northstar only")
    p.add_argument("--no-check", action="store_true", help="do not compare the results (exit 0 on disagreement)")
    p.add_argument(
        "--ingest",
        choices=["store", "sql"],
        default="store",
        help="load through northstar's Store (default) or plain SQL INSERTs",
    )
    p.add_argument("--profile", action="store_true", help="also break each metric's time down (an extra pass)")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json")
    args = p.parse_args(argv)
    scorecard = plan()
    log(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    log(f"scorecard: {len(scorecard)} metrics, weekly, whole year; DuckDB threads={DUCKDB_THREADS}")
    results = [run_size(n, args, scorecard) for n in args.events]
    ok = print_report(results, scorecard)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"plan": scorecard, "results": results}, indent=2, default=str))
    log(f"\nresults → {args.out}")
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
