"""`northstar impact` on the demo store finds the golden-path effect the demo planted (ground-truth.json)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from northstar.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from northstar.demo import run_demo

    return run_demo(7, out=tmp_path_factory.mktemp("demo"))


def impact(demo: Any, *args: str) -> str:
    argv = ["impact", "--db", str(demo.db_path), "--config", str(demo.config_path), "--component", "golden-path"]
    result = runner.invoke(app, [*argv, *args], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_lead_time_effect_matches_the_planted_one(demo: Any) -> None:
    truth = demo.ground_truth["golden_path_effect"]
    planted = truth["lead_time_factor"] - 1  # ×0.6 → −40%
    d = json.loads(impact(demo, "--outcome", "lead_time_for_changes", "--by-date", "2026-10-31", "-f", "json"))
    assert d["verdict"] == "ok" and d["pre_trend"]["passed"] is True
    rel = d["relative_effect"]
    assert rel["low"] <= planted <= rel["high"]
    assert rel["value"] == pytest.approx(planted, abs=0.08)
    assert d["effect"]["high"] < 0
    assert d["teams"]["treated"] == sorted(truth["adoption_dates"])  # every planted adopter, none else
    assert set(d["teams"]["never_treated"]) == set(truth["never_treated_teams"])
    money = d["money"]
    assert money["hourly_cost"] == 120 and money["platform_cost"] == 400_000
    assert money["hours_saved"]["value"] == pytest.approx(money["saved_per_unit"]["value"] / 3600 * money["units"])
    assert money["value"]["value"] == pytest.approx(money["hours_saved"]["value"] * 120)
    assert money["roi"]["low"] > 0  # the golden path paid for itself by the date, interval included


def test_manual_steps_effect_matches_the_planted_one(demo: Any) -> None:
    planted = demo.ground_truth["golden_path_effect"]["manual_steps_delta"]
    d = json.loads(impact(demo, "--outcome", "manual_tasks_to_deploy", "-f", "json"))
    assert d["verdict"] == "ok"
    assert d["effect"]["value"] == pytest.approx(planted, abs=0.25)
    assert d["effect"]["high"] < 0


def test_table_on_the_demo(demo: Any) -> None:
    out = impact(demo, "--outcome", "lead_time_for_changes", "--by-date", "2026-10-31")
    assert "Impact of golden-path on lead_time_for_changes" in out and "ok: enough treated" in out
    assert re.search(r"relative\s+-4\d\.\d% \(95% CI", out)
    assert "ROI" in out and "Adopting teams: observed vs if nothing had been done" in out
