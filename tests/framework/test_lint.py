"""The North Star lint: each rule with a config that trips it and one that does not."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from northstar.config import parse_config
from northstar.framework import SeriesSource, assess, lint
from northstar.framework.lint import Finding, LintReport
from northstar.metrics import catalog

Platform = Callable[..., Any]


def rules(report: LintReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def fake_catalog(**changes: dict[str, Any]) -> dict[str, catalog.Metric]:
    """The real catalog with some entries' metadata changed, plus a `model_auc` data-science metric."""
    catalog.names()
    metrics = dict(catalog.REGISTRY)
    for name, meta in changes.items():
        metrics[name] = dataclasses.replace(metrics[name], **meta)
    metrics["model_auc"] = dataclasses.replace(metrics["availability"], name="model_auc", scope="data_science")
    return metrics


# -- NS000: the config cannot be evaluated ----------------------------------------------------------------


def test_ns000_unknown_metric_with_did_you_mean() -> None:
    report = lint(parse_config("north_star: {metric: time_to_deplyo}"))
    [f] = rules(report, "NS000")
    assert (f.severity, f.where, f.reason) == ("error", "north_star.metric", "unknown metric 'time_to_deplyo'")
    assert "did you mean time_to_deploy" in f.hint
    assert report.config_errors == [f]


def test_ns000_scope_the_metric_cannot_be_broken_down_by() -> None:
    report = lint(parse_config("kpis: [{metric: availability, scope: {team: search}, warn: 0.99, breach: 0.95}]"))
    [f] = rules(report, "NS000")
    assert f.where == "kpis[0].scope" and "cannot be broken down by team" in f.reason
    ok = lint(parse_config("kpis: [{metric: availability, scope: {service: ranker}, warn: 0.99, breach: 0.95}]"))
    assert not rules(ok, "NS000")


def test_ns000_kpi_thresholds_in_the_wrong_order() -> None:
    bad = lint(parse_config("kpis: [{metric: availability, warn: 0.95, breach: 0.99}]"))
    [f] = rules(bad, "NS000")
    assert f.where == "kpis[0].breach" and "wrong order" in f.reason
    assert not rules(lint(parse_config("kpis: [{metric: change_failure_rate, warn: 0.1, breach: 0.15}]")), "NS000")


# -- NS001 vanity ------------------------------------------------------------------------------------------


def test_ns001_vanity_north_star_and_kpi() -> None:
    report = lint(
        parse_config(
            "north_star: {metric: users_total}\n"
            "kpis: [{metric: models_total, warn: 10, breach: 5}]\n"
            "inputs: [{metric: users_total}]\n"
        )
    )
    found = {(f.where, f.severity) for f in rules(report, "NS001")}
    assert found == {("north_star.metric", "error"), ("kpis[0].metric", "error"), ("inputs[0].metric", "warning")}
    assert "ever-growing" in rules(report, "NS001")[0].reason


def test_ns001_not_for_a_rate() -> None:
    assert not rules(lint(parse_config("north_star: {metric: adoption_rate}")), "NS001")


# -- NS002 output ------------------------------------------------------------------------------------------


def test_ns002_north_star_must_be_an_output_and_inputs_inputs() -> None:
    report = lint(parse_config("north_star: {metric: active_teams}\ninputs: [{metric: time_to_deploy}]"))
    found = {(f.where, f.severity) for f in rules(report, "NS002")}
    assert found == {("north_star.metric", "error"), ("inputs[0].metric", "warning")}


def test_ns002_output_north_star_with_input_inputs() -> None:
    report = lint(parse_config("north_star: {metric: time_to_deploy}\ninputs: [{metric: manual_tasks_to_deploy}]"))
    assert not rules(report, "NS002")


# -- NS003 layer (Step 1B) -------------------------------------------------------------------------------------


def test_ns003_step1b_gate_rejects_end_to_end_north_star_at_layer_2(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=4), parse_config(""))
    assert a.measured_layer == 2 and a.step1b_warning is not None
    for metric in ("time_to_deploy", "adoption_rate", "deployment_frequency"):
        report = lint(parse_config(f"north_star: {{metric: {metric}}}"), assessment=a)
        [f] = rules(report, "NS003")
        assert (f.severity, f.where) == ("error", "north_star.metric")
        assert "measured layer is 2 (services)" in f.reason


def test_ns003_passes_stage_level_metrics_at_layer_2(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=4), parse_config(""))
    report = lint(
        parse_config(
            "north_star: {metric: adoption_rate, scope: {component: model-server}}\n"
            "kpis: [{metric: availability, scope: {service: svc-t0}, warn: 0.999, breach: 0.99}]\n"
        ),
        assessment=a,
    )
    assert not rules(report, "NS003")


def test_ns003_end_to_end_delivery_fine_at_layer_3_and_warning_off_the_north_star(platform: Platform) -> None:
    a3 = assess(platform(mlflow_teams=6), parse_config(""))
    assert not rules(lint(parse_config("north_star: {metric: time_to_deploy}"), assessment=a3), "NS003")
    a2 = assess(platform(mlflow_teams=4), parse_config(""))
    [f] = rules(lint(parse_config("inputs: [{metric: time_to_deploy}]"), assessment=a2), "NS003")
    assert f.severity == "warning"


def test_ns003_skipped_without_a_store() -> None:
    report = lint(parse_config("north_star: {metric: adoption_rate}"))
    assert not rules(report, "NS003")
    assert any(n.startswith("NS003 layer skipped: no store") for n in report.notes)


# -- NS004 scope -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["accuracy", "val_loss", "model_auc_roc", "f1", "precision_at_10", "rmse"])
def test_ns004_data_science_metric_names_not_in_the_catalog(name: str) -> None:
    report = lint(parse_config(f"north_star: {{metric: {name}}}"))
    [f] = rules(report, "NS004")
    assert f.severity == "error" and "out of scope" in f.reason and "not in the catalog" in f.reason
    assert not rules(report, "NS000")  # recognised, so not "unknown metric"


def test_ns004_catalog_data_science_scope() -> None:
    report = lint(parse_config("kpis: [{metric: model_auc, warn: 0.9, breach: 0.8}]"), metrics=fake_catalog())
    [f] = rules(report, "NS004")
    assert "the catalog marks it data_science" in f.reason


def test_ns004_not_for_platform_metrics() -> None:
    report = lint(parse_config("north_star: {metric: deployment_frequency}\ninputs: [{metric: mttr}]"))
    assert not rules(report, "NS004")


# -- NS005 too early ---------------------------------------------------------------------------------------


def test_ns005_component_launched_less_than_90_days_ago() -> None:
    text = "components: [{id: golden-path, layer: 4, launched_at: 2026-01-20}]\n"
    text += "north_star: {metric: adoption_rate, scope: {component: golden-path}, target: 0.5}\n"
    [f] = rules(lint(parse_config(text), as_of=date(2026, 3, 1)), "NS005")
    assert f.severity == "warning" and f.reason.startswith("setting targets too early")
    assert "40 days" in f.reason
    assert not rules(lint(parse_config(text), as_of=date(2026, 6, 1)), "NS005")


def test_ns005_fewer_periods_of_data_than_the_baseline_needs(platform: Platform) -> None:
    con = platform(weeks=5)
    settings = parse_config("north_star: {metric: deployment_frequency, target: 20}")
    report = lint(settings, series=SeriesSource(con, settings, date(2026, 3, 1)))
    [f] = rules(report, "NS005")
    assert "5 week(s) of data" in f.reason and "(8)" in f.reason


def test_ns005_enough_periods_or_no_target(platform: Platform) -> None:
    con = platform(weeks=13)
    settings = parse_config("north_star: {metric: deployment_frequency, target: 20}")
    assert not rules(lint(settings, series=SeriesSource(con, settings, date(2026, 3, 1))), "NS005")
    short = platform(weeks=3)
    untargeted = parse_config("north_star: {metric: deployment_frequency}")
    assert not rules(lint(untargeted, series=SeriesSource(short, untargeted, date(2026, 3, 1))), "NS005")


def test_ns005_min_baseline_periods_from_config(platform: Platform) -> None:
    con = platform(weeks=5)
    settings = parse_config("targets: {min_baseline_periods: 4}\nnorth_star: {metric: deployment_frequency, target: 9}")
    assert not rules(lint(settings, series=SeriesSource(con, settings, date(2026, 3, 1))), "NS005")


# -- NS006 influence ---------------------------------------------------------------------------------------


def test_ns006_kpi_the_platform_cannot_influence() -> None:
    metrics = fake_catalog(throughput={"influence": "none"})
    report = lint(parse_config("kpis: [{metric: throughput, warn: 10, breach: 1}]"), metrics=metrics)
    [f] = rules(report, "NS006")
    assert (f.severity, f.where) == ("error", "kpis[0].metric") and "cannot influence" in f.reason
    as_input = lint(parse_config("inputs: [{metric: throughput}]"), metrics=metrics)
    assert [f.severity for f in rules(as_input, "NS006")] == ["warning"]


def test_ns006_partial_influence_is_fine() -> None:
    assert catalog.get("throughput").influence == "partial"
    assert not rules(lint(parse_config("kpis: [{metric: throughput, warn: 10, breach: 1}]")), "NS006")


# -- the report ---------------------------------------------------------------------------------------------


def test_findings_carry_the_config_line(tmp_path: Path) -> None:
    path = tmp_path / "northstar.yaml"
    path.write_text(
        "platform: {name: x}\n"
        "kpis:\n"
        "  - metric: availability\n"
        "    warn: 0.99\n"
        "    breach: 0.95\n"
        "  - metric: users_total\n"
        "    warn: 10\n"
        "    breach: 5\n"
    )
    from northstar.config import load_config

    report = lint(load_config(path))
    [f] = report.findings
    assert (f.rule, f.where, f.line) == ("NS001", "kpis[1].metric", 6)
    assert f.text(path).startswith(f"{path}:6: kpis[1].metric: NS001 vanity (error): ")


def test_errors_come_first_and_clean_config_has_no_findings() -> None:
    report = lint(parse_config("inputs: [{metric: time_to_deploy}]\nkpis: [{metric: users_total, warn: 9, breach: 5}]"))
    assert [(f.where, f.severity) for f in report.findings] == [
        ("kpis[0].metric", "error"),
        ("inputs[0].metric", "warning"),
    ]
    clean = lint(
        parse_config(
            "north_star: {metric: time_to_deploy}\n"
            "inputs: [{metric: manual_tasks_to_deploy}]\n"
            "kpis: [{metric: change_failure_rate, warn: 0.1, breach: 0.15}]\n"
            "okrs: [{objective: o, quarter: 2026-Q1, key_results: [{metric: deployment_frequency, target: 12}]}]\n"
        )
    )
    assert clean.findings == []
    assert clean.to_dict()["errors"] == 0
