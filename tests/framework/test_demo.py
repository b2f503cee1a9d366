"""End to end on the demo: `assess` finds the layer picture the demo planted, `check` reports the values
`northstar metrics` prints for the same metric, scope and period."""

from __future__ import annotations

import json
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


def cli_json(demo: Any, *args: str, code: int = 0) -> Any:
    argv = [*args, "--db", str(demo.db_path), "--config", str(demo.config_path), "--format", "json"]
    result = runner.invoke(app, argv)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def metric_value(demo: Any, metric: str, scope: dict[str, str], period: str, period_start: str) -> Any:
    by = next((k for k in scope if k in ("team", "component", "service")), None)
    args = ["metrics", metric, "--period", period, *(["--by", by] if by else [])]
    rows = cli_json(demo, *args)["rows"]
    [row] = [r for r in rows if r["period_start"] == period_start and r["group"] == (scope[by] if by else None)]
    return row["value"]


def test_assess_matches_the_planted_layers(demo: Any) -> None:
    truth = demo.ground_truth["layers"]
    d = cli_json(demo, "assess")
    assert (d["declared_layer"], d["measured_layer"]) == (truth["declared"], truth["measured"]) == (4, 3)
    assert d["window"] == truth["window"]
    assert d["active_teams"] == truth["active_teams"]
    assert d["adoption_threshold"] == truth["adoption_threshold"]
    shares = {c["id"]: c["share"] for c in d["components"]}
    assert shares == pytest.approx(truth["component_share"], abs=1e-4)
    assert {c["id"]: c["layer"] for c in d["components"]} == truth["component_layer"]
    assert (d["claimed_vs_actual"] is not None) == truth["claimed_vs_actual"]
    assert d["step1b_warning"] is None
    assert "adoption" in d["unmeasurable_categories"] and "delivery" in d["measurable_categories"]
    assert {c["category"] for c in d["north_star_candidates"]} == {"delivery"}


def test_check_values_match_northstar_metrics(demo: Any) -> None:
    truth = demo.ground_truth["reliability"]["kpi_breach"]
    d = cli_json(demo, "check", code=1 if truth["breached"] else 0)
    ns = d["north_star"]
    assert ns["metric"] == "time_to_deploy" and ns["current"]["period_start"] == "2026-10-19"
    assert ns["current"]["value"] == metric_value(demo, ns["metric"], ns["scope"], ns["period"], "2026-10-19")
    for kpi in d["kpis"]:
        start = kpi["current"]["period_start"]
        assert kpi["current"]["value"] == metric_value(demo, kpi["metric"], kpi["scope"], kpi["period"], start)
    breached = [(k["metric"], k["scope"]) for k in d["kpis"] if k["status"] == "breach"]
    assert (truth["metric"], {"service": truth["service"]}) in breached
    for kr in d["okrs"][0]["key_results"]:
        start = d["okrs"][0]["start"]
        assert kr["value"] == metric_value(demo, kr["metric"], kr["scope"], "quarter", start)
    assert [g["layer"] for g in d["sandwich"]] == ["product", "satisfaction", "adoption", "reliability"]
