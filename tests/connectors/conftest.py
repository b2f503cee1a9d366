"""Shared helpers for connector tests: a store, a config file and a `northstar sync` runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from northstar.cli import app
from northstar.store import Store
from tests.connectors.servers import free_port, mlflow_url, prometheus_url

__all__ = ["free_port", "mlflow_url", "prometheus_url"]

runner = CliRunner()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "ns.duckdb"


def write_config(folder: Path, connectors: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    path = folder / "northstar.yaml"
    path.write_text(yaml.safe_dump({**(extra or {}), "connectors": connectors}, sort_keys=False))
    return path


def sync(config: Path, db: Path, *names: str, on_error: str = "reject") -> tuple[int, dict[str, Any], str]:
    """Run `northstar sync --format json`; (exit code, parsed output, stderr)."""
    result = runner.invoke(
        app,
        ["sync", *names, "--config", str(config), "--db", str(db), "--format", "json", "--on-error", on_error],
        env={"COLUMNS": "200"},
    )
    out = result.stdout
    data = json.loads(out) if out.strip().startswith("{") else {}
    return result.exit_code, data, result.stderr


def inserted(data: dict[str, Any], connector: str) -> dict[str, int]:
    """kind → inserted rows (when any) for one connector in a sync's JSON output."""
    return {
        r["kind"]: r["inserted"]
        for r in data["connectors"]
        if r["connector"] == connector and r["kind"] and r["inserted"]
    }


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with Store.open(db, read_only=True) as store:
        return list(store.con.execute(sql).fetchall())


@pytest.fixture
def people_db(store_path: Path) -> Iterator[Path]:
    """A store with a small roster: two practitioners and a platform owner."""
    from northstar.ingest import ingest_records

    with Store.open(store_path) as store:
        ingest_records(
            store,
            "people",
            [
                {"id": "ada@example.com", "team": "ranking"},
                {"id": "bob", "team": "search"},
                {"id": "olga", "team": "platform", "role": "platform_owner"},
            ],
        )
    yield store_path
