"""The scorecard benchmark's cross-check at a tiny size: northstar and the independent pandas baseline
(bench/pandas_baseline.py) must give the same rows for every metric of the scorecard.

This is what keeps `make bench` honest: a metric that changes meaning in one implementation only, or a
baseline that drifts from DESIGN.md §3, fails here long before anyone reads a benchmark report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
import scorecard  # noqa: E402

EVENTS = 20_000
PLAN = scorecard.plan()

# Disagreements reported to the metric's owner, with what is wrong; strict: a fix makes the test fail
# until the entry is removed.
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("bench")
    meta = generate.generate(EVENTS, seed=7, out=data)
    db = data / "northstar.duckdb"
    scorecard.worker_ingest(data, db, "store")
    ns = scorecard.worker_northstar(db, meta, PLAN)
    pdr = scorecard.worker_pandas(data, meta, PLAN)
    both = [m for m in PLAN if m in pdr["implemented"]]
    return {"meta": meta, "ns": ns, "pd": pdr, "report": scorecard.compare(ns["rows"], pdr["rows"], both)}


def test_generated_data_has_the_storage_schema(run: dict[str, Any], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from northstar.schema import arrow_schema

    data = tmp_path / "d"
    generate.generate(2_000, seed=1, out=data)
    for kind in json.loads((data / "meta.json").read_text())["rows"]:
        assert pq.read_schema(data / f"{kind}.parquet").remove_metadata() == arrow_schema(kind), kind
    assert run["meta"]["rows"]["activity"] == EVENTS


def test_every_scorecard_metric_has_a_baseline(run: dict[str, Any]) -> None:
    assert sorted(set(PLAN) - set(run["pd"]["implemented"])) == []
    assert run["pd"]["errors"] == {}


def test_northstar_computes_every_scorecard_metric(run: dict[str, Any]) -> None:
    assert run["ns"]["errors"] == {}


@pytest.mark.parametrize("metric", list(PLAN))
def test_northstar_and_pandas_agree(run: dict[str, Any], metric: str) -> None:
    if metric in KNOWN:
        if not run["report"].get(metric, {}).get("diffs"):
            pytest.fail(f"{metric} agrees now: remove it from KNOWN")
        pytest.xfail(KNOWN[metric])
    got = run["report"].get(metric)
    assert got is not None, f"{metric} was not compared"
    assert got["northstar_rows"] > 0 and got["pandas_rows"] > 0
    assert got["diffs"] == [], json.dumps(got["diffs"][:5], default=str, indent=1)


def test_the_check_catches_a_different_value(run: dict[str, Any]) -> None:
    rows = [dict(r) for r in run["ns"]["rows"] if r["metric"] == "active_users"]
    changed = next(r for r in rows if r["value"])
    changed["value"] += 1
    report = scorecard.compare(run["ns"]["rows"], rows, ["active_users"])
    assert [d["what"] for d in report["active_users"]["diffs"]] == ["value"]
