"""`northstar assess` and `northstar check` through the CLI: output and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from northstar.cli import app

runner = CliRunner()
StoreFile = Callable[..., Path]


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "northstar.yaml"
        path.write_text(text)
        return path

    return write


def test_assess_json_and_table(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    db = store_file(mlflow_teams=4)
    cfg = config("platform: {name: Tiny ML}\n")
    code, out = run("assess", "--db", str(db), "--config", str(cfg), "--format", "json")
    assert code == 0, out
    d = json.loads(out)
    assert (d["platform"], d["declared_layer"], d["measured_layer"]) == ("Tiny ML", 4, 2)
    assert d["step1b_warning"] and d["claimed_vs_actual"]
    code, out = run("assess", "--db", str(db), "--config", str(cfg))
    assert code == 0
    assert "measured layer  2 (services)" in out and "Step 1B" in out and "claimed vs actual" in out


def test_check_exit_0_when_kpis_ok_or_warn(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    cfg = config(
        "north_star: {metric: time_to_deploy, target: 2h, by: 2026-04-30}\n"
        "kpis:\n"
        "  - {metric: deployment_frequency, warn: 5, breach: 2}\n"
        "  - {metric: deployment_frequency, warn: 12, breach: 8}\n"
    )
    code, out = run("check", "--db", str(store_file()), "--config", str(cfg), "--format", "json")
    assert code == 0, out
    d = json.loads(out)
    assert [k["status"] for k in d["kpis"]] == ["ok", "warn"]
    assert d["north_star"]["status"] == "on track" and d["exit_code"] == 0
    assert d["as_of"] == "2026-03-01"


def test_check_exit_1_when_a_kpi_is_breached(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    cfg = config("kpis: [{metric: deployment_frequency, warn: 12, breach: 10, owner: platform-oncall}]\n")
    code, out = run("check", "--db", str(store_file()), "--config", str(cfg))
    assert code == 1
    assert "breach" in out and "breached: kpis[0] deployment_frequency (exit 1)" in out


def test_check_as_of(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    cfg = config("kpis: [{metric: time_to_deploy, warn: 14h, breach: 16h}]\n")
    code, out = run("check", "--db", str(store_file()), "--config", str(cfg), "--as-of", "2026-01-15", "-f", "json")
    assert code == 0, out
    d = json.loads(out)
    # judged on 2026-01-15: the latest complete week is 2026-01-05 (week 5: 15 hours)
    assert d["as_of"] == "2026-01-15"
    assert d["kpis"][0]["current"] == {"period_start": "2026-01-05", "value": 15 * 3600.0, "n": 10}
    assert d["kpis"][0]["status"] == "warn"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kpis: [{metric: deploymnt_frequency, warn: 2, breach: 1}]\n", "did you mean deployment_frequency"),
        ("kpis: [{metric: availability, scope: {team: a}, warn: 0.99, breach: 0.9}]\n", "cannot be broken down"),
        ("kpis: [{metric: deployment_frequency, warn: 2}]\n", "breach: required key is missing"),
        ("kpis: [{metric: dora_band, warn: 2, breach: 1}]\n", "values per period"),
        ("kpis: [oops\n", "YAML syntax error"),
    ],
)
def test_check_exit_2_on_a_config_error(
    store_file: StoreFile, config: Callable[[str], Path], text: str, message: str
) -> None:
    code, out = run("check", "--db", str(store_file()), "--config", str(config(text)))
    assert code == 2, out
    assert message in out


def test_check_exit_2_without_a_store(tmp_path: Path, config: Callable[[str], Path]) -> None:
    code, out = run("check", "--db", str(tmp_path / "none.duckdb"), "--config", str(config("")))
    assert code == 2 and "no store at" in out


def test_lint_only(tmp_path: Path, config: Callable[[str], Path]) -> None:
    no_store = str(tmp_path / "none.duckdb")
    code, out = run(
        "check", "--lint-only", "--db", no_store, "--config", str(config("north_star: {metric: users_total}"))
    )
    assert code == 1
    assert "NS001 vanity (error)" in out and "northstar.yaml:1: north_star.metric" in out
    assert "NS003 layer skipped" in out
    code, out = run(
        "check",
        "--lint-only",
        "--db",
        no_store,
        "--config",
        str(config("north_star: {metric: time_to_deploy}")),
        "-f",
        "json",
    )
    assert code == 0, out
    assert json.loads(out)["lint"] == {
        "errors": 0,
        "warnings": 0,
        "findings": [],
        "notes": [
            "NS003 layer skipped: no store given, so the measured layer is unknown",
            "NS005 too early: periods of data not counted (no store given)",
        ],
    }


def test_lint_only_uses_the_store_for_step_1b(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    cfg = config("north_star: {metric: time_to_deploy}\n")
    code, out = run("check", "--lint-only", "--db", str(store_file(mlflow_teams=4)), "--config", str(cfg))
    assert code == 1 and "NS003 layer (error)" in out


def test_strict_makes_lint_errors_exit_1(store_file: StoreFile, config: Callable[[str], Path]) -> None:
    db = str(store_file())
    cfg = str(config("kpis: [{metric: users_total, warn: 1, breach: 0}]\n"))
    assert run("check", "--db", db, "--config", cfg)[0] == 0
    assert run("check", "--db", db, "--config", cfg, "--strict")[0] == 1
