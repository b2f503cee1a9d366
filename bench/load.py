"""Load test of `northstar serve` on loopback: batched ingest from a second process, then the same with kill -9.

    python bench/load.py                       # 300 requests × 100 records, 4 client threads
    python bench/load.py --requests 100 --batch 50 --concurrency 2

Phase 1 (sustained): every batch is sent once; throughput (records/s) and request latency (p50, p99) are
measured; then the server is stopped and the store counted: records sent = rows stored = distinct ids.
Phase 2 (kill -9): the same load on a fresh store; when half the batches are acknowledged the server is killed
with SIGKILL and restarted; clients retry what was not acknowledged (with backoff). At the end every
acknowledged record must be stored, and sent = stored with no duplicate (retried batches that had been
committed before the kill come back as `unchanged`). Exit code 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NORTHSTAR_CONFIG": ""}
    cmd = [sys.executable, "-m", "northstar", "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"northstar serve exited ({proc.returncode}): {log.read_text()[-1500:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    _stop(proc, signal.SIGKILL)
    raise SystemExit("northstar serve did not start in 60 s")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _token(db: Path) -> str:
    from northstar.server import ServerState
    from northstar.server.auth import create_token

    state = ServerState.open(db)
    try:
        return create_token(state.store.con, "load", ["ingest"])[0]
    finally:
        state.close()


def _stored(db: Path) -> tuple[int, int, set[str]]:
    from northstar.store import Store

    with Store.open(db, read_only=True) as store:
        ids = [r[0] for r in store.con.execute("SELECT id FROM activity").fetchall()]
    return len(ids), len(set(ids)), set(ids)


def _batch(run: str, b: int, size: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{run}-{b}-{i}",
            "ts": f"2026-{1 + b % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "actor": f"user{(b * 7 + i) % 500}",
            "team": f"team{(b + i) % 20}",
            "component": ("pipelines", "registry", "serving", "features")[i % 4],
            "action": ("run", "register", "deploy", "read")[(b + i) % 4],
            "properties": {"batch": b},
        }
        for i in range(size)
    ]


@dataclass
class Run:
    """What the clients saw."""

    acked: dict[int, dict[str, int]] = field(default_factory=dict)  # batch → the server's counts
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, token: str, bodies: list[tuple[int, bytes]], run: Run, retry: bool, give_up: float) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(timeout=30, headers=headers) as client:
        for b, body in bodies:
            delay = 0.05
            while True:
                started = time.perf_counter()
                try:
                    r = client.post(f"{url}/v1/records/activity", content=body)
                    if r.status_code == 200:
                        with run.lock:
                            run.acked[b] = r.json()
                            run.latencies.append(time.perf_counter() - started)
                        break
                    error = f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    error = exc.__class__.__name__
                with run.lock:
                    run.failures += 1
                if not retry or time.monotonic() > give_up:
                    print(f"batch {b} not acknowledged: {error}", file=sys.stderr)
                    break
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


def _load(url: str, token: str, run_id: str, args: argparse.Namespace, run: Run, retry: bool) -> float:
    bodies = [(b, json.dumps(_batch(run_id, b, args.batch)).encode()) for b in range(args.requests)]
    shares = [bodies[i :: args.concurrency] for i in range(args.concurrency)]
    started = time.perf_counter()
    give_up = time.monotonic() + 300
    with ThreadPoolExecutor(args.concurrency) as pool:
        for f in [pool.submit(_client, url, token, s, run, retry, give_up) for s in shares]:
            f.result()
    return time.perf_counter() - started


def _quantile(values: list[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def sustained(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = folder / "sustained.duckdb"
    token, port = _token(db), _free_port()
    proc = _start(db, port, folder / "sustained.log")
    run = Run()
    try:
        seconds = _load(f"http://127.0.0.1:{port}", token, "s", args, run, retry=False)
    finally:
        _stop(proc)
    rows, distinct, _ = _stored(db)
    sent = args.requests * args.batch
    return {
        "phase": "sustained",
        "requests": args.requests,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "sent_records": sent,
        "acked_records": sum(a["inserted"] for a in run.acked.values()),
        "stored_rows": rows,
        "stored_distinct": distinct,
        "failed_requests": run.failures,
        "seconds": round(seconds, 2),
        "records_per_s": round(sent / seconds),
        "requests_per_s": round(args.requests / seconds, 1),
        "latency_p50_ms": round(_quantile(run.latencies, 0.5) * 1000, 1),
        "latency_p99_ms": round(_quantile(run.latencies, 0.99) * 1000, 1),
        "ok": rows == distinct == sent and not run.failures,
    }


def killed(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = folder / "killed.duckdb"
    token, port = _token(db), _free_port()
    log = folder / "killed.log"
    proc = _start(db, port, log)
    run = Run()
    state: dict[str, Any] = {"proc": proc}

    def killer() -> None:
        while len(run.acked) < args.requests // 2:
            time.sleep(0.01)
        with run.lock:
            state["acked_before_kill"] = set(run.acked)
        os.kill(state["proc"].pid, signal.SIGKILL)
        state["proc"].wait()
        state["killed_at"] = len(state["acked_before_kill"])
        time.sleep(0.5)
        state["proc"] = _start(db, port, log)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    try:
        seconds = _load(f"http://127.0.0.1:{port}", token, "k", args, run, retry=True)
        watcher.join(120)
    finally:
        _stop(state["proc"])
    rows, distinct, ids = _stored(db)
    before = state.get("acked_before_kill", set())
    lost = [b for b in before if not all(f"k-{b}-{i}" in ids for i in range(args.batch))]
    sent = args.requests * args.batch
    unchanged = sum(a["unchanged"] for a in run.acked.values())
    return {
        "phase": "kill -9 midway",
        "sent_records": sent,
        "acked_batches_before_kill": len(before),
        "acked_batches_before_kill_lost": len(lost),
        "acked_batches_total": len(run.acked),
        "retried_requests": run.failures,
        "records_already_committed_when_retried": unchanged,
        "stored_rows": rows,
        "stored_distinct": distinct,
        "seconds": round(seconds, 2),
        "ok": not lost and rows == distinct == sent and len(run.acked) == args.requests,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300, help="Batches to send per phase.")
    p.add_argument("--batch", type=int, default=100, help="Records per batch.")
    p.add_argument("--concurrency", type=int, default=4, help="Client threads.")
    p.add_argument("--skip-kill", action="store_true", help="Only the sustained phase.")
    p.add_argument("--json", action="store_true", help="Print the results as JSON.")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="northstar-load-") as tmp:
        results = [sustained(Path(tmp), args)]
        if not args.skip_kill:
            results.append(killed(Path(tmp), args))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(f"== {r['phase']}")
            for k, v in r.items():
                if k != "phase":
                    print(f"  {k:40} {v}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
