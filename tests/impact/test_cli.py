"""`northstar impact` through the CLI on the small platform: JSON, the table, honesty, and input errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from northstar.cli import app

runner = CliRunner()
ROI = "roi: {hourly_cost: 100, platform_cost: 1000, hours_per_unit: {manual_tasks_to_deploy: 0.5}}\n"


def run(db: Path, cfg: Path, *args: str) -> tuple[int, str]:
    argv = ["impact", "--db", str(db), "--config", str(cfg), "--bootstrap", "100", *args]
    result = runner.invoke(app, argv, env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_json(platform_store: Path, config_file: Callable[[str], Path]) -> None:
    code, out = run(
        platform_store,
        config_file(ROI),
        "--component",
        "golden-path",
        "--outcome",
        "manual_tasks_to_deploy",
        "-f",
        "json",
    )
    assert code == 0, out
    d = json.loads(out)
    assert d["verdict"] == "ok" and d["reliable"] is True
    assert d["effect"] == pytest.approx({"value": -3.0, "low": -3.0, "high": -3.0})
    assert (d["treated_teams"], d["control_teams"]) == (6, 11)
    units = 2 * (19 + 17 + 15 + 13 + 11 + 9)  # two deployments a week after each adoption week
    money = d["money"]
    assert money["units"] == units
    assert money["hours_saved"]["value"] == pytest.approx(3 * 0.5 * units)
    assert money["value"]["value"] == pytest.approx(3 * 0.5 * units * 100)
    assert money["roi"]["value"] == pytest.approx((3 * 0.5 * units * 100 - 1000) / 1000)
    assert d["outcome"] == {
        "metric": "manual_tasks_to_deploy",
        "unit": "count",
        "direction": "lower_is_better",
        "question": d["outcome"]["question"],
    }
    series = {r["period_start"]: r for r in d["counterfactual"]}
    # week of 2026-06-01: all six adopters treated → observed 3 steps lower than had nothing been done
    wk = series["2026-06-01"]
    assert wk["treated_teams"] == 6 and wk["observed"] == pytest.approx(wk["counterfactual"] - 3)
    assert d["method"]["bootstrap"] == 100 and d["method"]["base_periods"] == 4


def test_table(platform_store: Path, config_file: Callable[[str], Path]) -> None:
    code, out = run(
        platform_store, config_file(ROI), "--component", "golden-path", "--outcome", "manual_tasks_to_deploy"
    )
    assert code == 0, out
    assert "Impact of golden-path on manual_tasks_to_deploy" in out
    assert "ok: enough treated and control teams, no pre-trend" in out
    assert "-3 (95% CI -3 to -3) per team and week (ATT)" in out
    assert "6 treated, 11 controls (6 never treated" in out
    assert "ROI          24.20 (95% CI" in out and "= (value − 1,000) ÷ 1,000" in out
    assert "observed vs if nothing had been done" in out


def test_unreliable_result_prints_no_number(platform_store: Path, config_file: Callable[[str], Path]) -> None:
    # by 2026-04-12 only two teams have adopted
    args = ("--component", "golden-path", "--outcome", "manual_tasks_to_deploy", "--by-date", "2026-04-12")
    code, out = run(platform_store, config_file(ROI), *args)
    assert code == 0, out
    assert "not reliable: insufficient data: 2 treated team(s)" in out
    assert "not reliable (insufficient data); no effect is claimed" in out
    assert "-3 (" not in out and "ATT" not in out and "\nROI" not in out and "value and ROI not reliable" in out
    code, out = run(platform_store, config_file(ROI), *args, "-f", "json")
    d = json.loads(out)
    assert code == 0 and d["reliable"] is False and d["verdict"].startswith("insufficient data")


def test_csv_is_the_counterfactual_series(platform_store: Path, config_file: Callable[[str], Path]) -> None:
    code, out = run(
        platform_store,
        config_file(ROI),
        "--component",
        "golden-path",
        "--outcome",
        "manual_tasks_to_deploy",
        "-f",
        "csv",
    )
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0] == "period_start,teams,treated_teams,observed,counterfactual,effect,effect_low,effect_high"
    assert len(lines) == 31


def test_initiative_rollout_from_config(platform_store: Path, config_file: Callable[[str], Path]) -> None:
    dates = ", ".join(f"a{i}: {d}" for i, d in enumerate(["2026-03-16", "2026-03-30", "2026-04-13", "2026-04-27"]))
    # the rollout names four of the six adopters: the other two are (wrongly) taken as never treated
    cfg = config_file(ROI + f"initiatives:\n  - {{name: early, rollout: {{{dates}}}}}\n")
    code, out = run(platform_store, cfg, "--initiative", "early", "--outcome", "manual_tasks_to_deploy", "-f", "json")
    assert code == 0, out
    d = json.loads(out)
    assert d["initiative"] == "early" and d["treatment"] == "rollout to 4 team(s) on their dates"
    assert d["treated_teams"] == 4 and d["never_treated_teams"] == 8
    assert d["teams"]["treated"] == ["a0", "a1", "a2", "a3"]
    assert d["effect"]["value"] > -3.0  # contaminated controls bias the effect towards 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--outcome", "manual_tasks_to_deploy"), "give --component C or --initiative NAME"),
        (("--component", "golden-path", "--initiative", "x", "--outcome", "manual_tasks_to_deploy"), "one of them"),
        (("--component", "nope", "--outcome", "manual_tasks_to_deploy"), "unknown component 'nope'"),
        (("--component", "golden-path", "--outcome", "adoption_rate"), "cannot be computed per team"),
        (("--component", "golden-path", "--outcome", "manual_tasks_to_deploy", "--by-date", "31/3"), "not a date"),
        (("--initiative", "x", "--outcome", "manual_tasks_to_deploy"), "unknown initiative 'x'"),
    ],
)
def test_bad_input_exits_2(
    platform_store: Path, config_file: Callable[[str], Path], args: tuple[str, ...], message: str
) -> None:
    code, out = run(platform_store, config_file(ROI), *args)
    assert code == 2 and message in out, out
