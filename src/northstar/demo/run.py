"""Write a generated demo to disk: a fresh store, the org's northstar.yaml and ground-truth.json."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from northstar.demo.simulate import DemoData, generate
from northstar.records import KINDS

__all__ = [
    "CONFIG_NAME",
    "DB_NAME",
    "GROUND_TRUTH_NAME",
    "DemoResult",
    "headline",
    "load_into_store",
    "metric_scorecard",
    "run_demo",
    "write_demo",
]

DB_NAME = "northstar.duckdb"
CONFIG_NAME = "northstar.yaml"
GROUND_TRUTH_NAME = "ground-truth.json"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo was written and what it holds."""

    out: Path
    db_path: Path
    config_path: Path
    ground_truth_path: Path
    counts: dict[str, int]
    ground_truth: dict[str, Any] = field(repr=False)


def load_into_store(db_path: Path, tables: Mapping[str, pa.Table]) -> None:
    """Create the store at `db_path` from the record tables, in one transaction.

    Through `northstar.store.Store` (upserts, derived tables, schema metadata) when it is installed;
    before it existed, straight through `engines.load_tables`, which the fallback keeps.
    """
    try:
        from northstar.store import Store
    except ImportError:
        _load_with_engines(db_path, tables)
        return
    with Store.open(db_path) as store, store.transaction():
        for kind in KINDS:
            store.upsert(kind, tables[kind])


def _load_with_engines(db_path: Path, tables: Mapping[str, pa.Table]) -> None:
    import ibis

    from northstar.engines import load_tables

    con = ibis.duckdb.connect(str(db_path))
    try:
        load_tables(con, tables)
    finally:
        con.disconnect()


def _remove_store(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def write_demo(data: DemoData, out: Path) -> DemoResult:
    """Replace the demo store under `out` (built aside, then moved in) and write the config and ground truth."""
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / DB_NAME
    tmp = out / f".{DB_NAME}.tmp"
    _remove_store(tmp)
    try:
        load_into_store(tmp, data.tables)
        _remove_store(db_path)
        os.replace(tmp, db_path)
    finally:
        _remove_store(tmp)
    config_path = out / CONFIG_NAME
    config_path.write_text(data.config_yaml, encoding="utf-8")
    truth_path = out / GROUND_TRUTH_NAME
    truth_path.write_text(json.dumps(data.ground_truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(
        out=out,
        db_path=db_path,
        config_path=config_path,
        ground_truth_path=truth_path,
        counts=data.counts,
        ground_truth=data.ground_truth,
    )


def run_demo(
    seed: int = 7, out: Path = Path("northstar-demo"), *, start: date | None = None, days: int = 365
) -> DemoResult:
    """Generate the simulated organisation and write it under `out` (see `write_demo`)."""
    return write_demo(generate(seed, start=start, days=days), out)


@contextmanager
def _backend(db_path: Path) -> Iterator[Any]:
    """A read-only Ibis backend on the demo store."""
    import ibis

    con = ibis.duckdb.connect(str(db_path), read_only=True)
    try:
        yield con
    finally:
        con.disconnect()


def metric_scorecard(result: DemoResult) -> list[dict[str, Any]] | None:
    """The metric catalog's scorecard on the demo store, or None while the catalog has no `scorecard` yet."""
    try:
        from northstar.metrics import scorecard  # type: ignore[attr-defined,unused-ignore]
    except (ImportError, AttributeError):
        return None
    from northstar.config import load_config

    settings = load_config(result.config_path)
    with _backend(result.db_path) as con:
        return [dict(row) for row in scorecard(con, settings)]


def headline(truth: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The planted effects, one row each: what was planted and what the generated data shows."""
    layers = truth["layers"]
    gp = truth["golden_path_effect"]
    measured = gp["measured"]
    surveys = truth["satisfaction"]["surveys"]
    support = truth["support"]["support_ratio_by_quarter"]
    quarters = sorted(support)
    kpi = truth["reliability"]["kpi_breach"]
    sat = truth["reliability"]["saturation_share"][truth["reliability"]["saturated_service"]]
    share = layers["component_share"][gp["component"]]
    return [
        {
            "finding": "measured layer",
            "planted": f"declared {layers['declared']}, measured {layers['measured']}",
            "in the data": f"{gp['component']}: {share:.0%} of active teams (28 d)",
        },
        {
            "finding": "golden path → lead time",
            "planted": f"x{gp['lead_time_factor']:g} ({len(gp['treated_teams'])} teams)",
            "in the data": f"x{measured['lead_time_ratio_median']:.2f}",
        },
        {
            "finding": "golden path → manual steps",
            "planted": f"{gp['manual_steps_delta']:+d} per deploy",
            "in the data": f"{measured['manual_steps_delta_mean']:+.2f}",
        },
        {
            "finding": "NPS by quarter",
            "planted": " → ".join(f"{s['nps_planted']:+g}" for s in surveys),
            "in the data": " → ".join(f"{s['nps']:+.0f}" for s in surveys),
        },
        {
            "finding": "support ratio",
            "planted": "{start:.0%} → {end:.0%}".format(**truth["support"]["user_answer_share"]),
            "in the data": f"{support[quarters[0]]['value']:.0%} → {support[quarters[-1]]['value']:.0%}",
        },
        {
            "finding": f"KPI {kpi['service']} {kpi['metric']}",
            "planted": f"breach < {kpi['breach']:g}",
            "in the data": f"{kpi['value']:.4f} (28 d)",
        },
        {
            "finding": "change failure rate",
            "planted": "rollbacks, incidents",
            "in the data": f"{truth['delivery']['change_failure_rate']['value']:.1%}",
        },
        {
            "finding": f"{truth['reliability']['saturated_service']} saturation",
            "planted": "runs hot",
            "in the data": f"{sat:.0%} of samples ≥ 0.8",
        },
    ]
