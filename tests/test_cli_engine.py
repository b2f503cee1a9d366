"""`northstar metrics --engine spark` reads the store into Spark and gives the same JSON as DuckDB."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from northstar.cli import app
from northstar.ingest import ingest_records
from northstar.store import Store

T0 = datetime(2026, 1, 5, 9)


def _store(path: Path) -> None:
    people = [{"id": f"p{i}", "team": "red" if i < 6 else "blue"} for i in range(12)]
    activity = [
        {"id": f"a{k}", "ts": T0 + timedelta(days=k % 20, hours=k % 7), "actor": f"p{k % 12}",
         "component": "train" if k % 3 else "serve", "action": "deploy" if k % 5 == 0 else "run",
         **({"team": "blue"} if k % 11 == 0 else {})}
        for k in range(200)
    ]  # fmt: skip
    changes = [
        {"id": f"c{k}", "service": "ranker", "team": "red", "created_at": T0 + timedelta(days=k, hours=1)}
        for k in range(10)
    ]
    deployments = [
        {"id": f"d{k}", "service": "ranker", "team": "red", "environment": "production",
         "status": "failed" if k == 4 else "succeeded", "change_ids": [f"c{k}"],
         "started_at": T0 + timedelta(days=k, hours=5), "finished_at": T0 + timedelta(days=k, hours=6)}
        for k in range(10)
    ]  # fmt: skip
    with Store.open(path) as store:
        for kind, rows in (("people", people), ("activity", activity), ("changes", changes),
                           ("deployments", deployments)):  # fmt: skip
            ingest_records(store, kind, rows)


@pytest.mark.slow
def test_spark_engine_gives_the_duckdb_rows(tmp_path: Path, spark_session: Any) -> None:
    db = tmp_path / "s.duckdb"
    _store(db)
    runner = CliRunner()
    names = ["active_users", "stickiness", "retention", "lead_time_for_changes", "change_failure_rate"]
    args = ["metrics", *names, "--by", "team", "--db", str(db), "--format", "json"]
    args += ["--since", "2026-01-05", "--until", "2026-02-02"]
    out = {}
    for engine in ("duckdb", "spark"):
        result = runner.invoke(app, [*args, "--engine", engine])
        assert result.exit_code == 0, result.output
        out[engine] = json.loads(result.stdout)
    assert out["duckdb"]["rows"] and out["spark"] == out["duckdb"]
    assert {r["metric"] for r in out["spark"]["rows"]} == set(names)
