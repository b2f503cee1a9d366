"""`check`'s arithmetic: KPI status at the thresholds, OKR progress, trends and the North Star's projection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from northstar.config import parse_config
from northstar.framework import SeriesSource, expected_progress, kpi_status, kr_progress, lint, run_check
from northstar.framework.series import Point, SeriesError
from northstar.framework.targets import trend
from northstar.metrics import Query, compute

Platform = Callable[..., Any]
HOUR = 3600.0
AS_OF = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.9995, "ok"), (0.999, "warn"), (0.997, "warn"), (0.995, "breach"), (0.9, "breach"), (None, "no_data")],
)
def test_kpi_status_higher_is_better(value: float | None, status: str) -> None:
    assert kpi_status(value, warn=0.999, breach=0.995, direction="higher_is_better") == status


@pytest.mark.parametrize(
    ("value", "status"),
    [(0.05, "ok"), (0.0999, "ok"), (0.1, "warn"), (0.12, "warn"), (0.15, "breach"), (0.3, "breach")],
)
def test_kpi_status_lower_is_better(value: float, status: str) -> None:
    assert kpi_status(value, warn=0.1, breach=0.15, direction="lower_is_better") == status


@given(
    st.floats(-1e6, 1e6),
    st.floats(-1e6, 1e6),
    st.floats(0, 1e6),
    st.sampled_from(["higher_is_better", "lower_is_better"]),
)
def test_kpi_status_is_monotone(value: float, warn: float, gap: float, direction: str) -> None:
    breach = warn - gap if direction == "higher_is_better" else warn + gap
    worse = value - 1 if direction == "higher_is_better" else value + 1
    order = {"ok": 0, "warn": 1, "breach": 2}
    assert order[kpi_status(worse, warn, breach, direction)] >= order[kpi_status(value, warn, breach, direction)]


def test_kr_progress_arithmetic() -> None:
    assert kr_progress(0.35, 0.2, 0.5) == pytest.approx(0.5)
    assert kr_progress(4.0, 5.0, 3.0) == pytest.approx(0.5)  # lower is better: baseline 5 → target 3
    assert kr_progress(6.0, 5.0, 3.0) == pytest.approx(-0.5)  # moved the wrong way
    assert kr_progress(0.6, 0.2, 0.5) == pytest.approx(4 / 3)  # beyond the target
    assert kr_progress(0.5, 0.5, 0.5) == 1.0 and kr_progress(0.4, 0.5, 0.5) == 0.0
    assert kr_progress(None, 0.2, 0.5) is None and kr_progress(0.3, None, 0.5) is None


def test_expected_progress() -> None:
    q1 = (date(2026, 1, 1), date(2026, 4, 1))
    assert expected_progress(*q1, date(2026, 1, 1)) == 0.0
    assert expected_progress(*q1, date(2026, 3, 1)) == pytest.approx(59 / 90)
    assert expected_progress(*q1, date(2026, 4, 1)) == 1.0
    assert expected_progress(*q1, date(2026, 7, 1)) == 1.0 and expected_progress(*q1, date(2025, 7, 1)) == 0.0


@given(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(1, 400), st.integers(-500, 900))
def test_expected_progress_is_the_clipped_elapsed_share(start: date, days: int, offset: int) -> None:
    end = start + timedelta(days=days)
    got = expected_progress(start, end, start + timedelta(days=offset))
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(min(1.0, max(0.0, offset / days)))


def test_trend_slope_and_direction() -> None:
    pts = [Point(date(2026, 1, 5) + timedelta(weeks=i), v, 1) for i, v in enumerate([10.0, 9.0, None, 7.0, 6.0])]
    tr = trend(pts, "lower_is_better")
    assert tr["slope"] == pytest.approx(-1.0) and tr["intercept"] == pytest.approx(10.0)
    assert (tr["direction"], tr["improving"]) == ("down", True)
    assert trend(pts, "higher_is_better")["improving"] is False
    flat = trend([Point(date(2026, 1, 5) + timedelta(weeks=i), 100.0 + i * 0.01, 1) for i in range(8)], "x")
    assert (flat["direction"], flat["improving"]) == ("flat", None)
    assert trend(pts[:1], "lower_is_better")["slope"] is None


# -- on the small platform: time_to_deploy is (20 − w) hours in week w, 10 deployments a week --------------


def _check(platform: Platform, text: str, **kwargs: Any) -> Any:
    con = platform(**kwargs)
    settings = parse_config(text)
    src = SeriesSource(con, settings, AS_OF)
    return run_check(settings, src, lint(settings, series=src, as_of=AS_OF)), con


def test_north_star_value_trend_and_on_track(platform: Platform) -> None:
    report, con = _check(platform, "north_star: {metric: time_to_deploy, target: 2h, by: 2026-04-30}")
    ns = report.north_star
    # the week of 2026-02-23 is not complete on 2026-03-01: the latest complete week is 2026-02-16 (w = 11)
    assert ns["current"] == {"period_start": "2026-02-16", "value": 9 * HOUR, "n": 10}
    assert [p["value"] for p in ns["trend"]["periods"]] == [h * HOUR for h in range(16, 8, -1)]
    assert ns["trend"]["slope"] == pytest.approx(-HOUR) and ns["trend"]["improving"] is True
    assert ns["distance"] == pytest.approx(2 * HOUR - 9 * HOUR)
    # the line through weeks 2025-12-29 … 2026-02-16, 122 days (17.43 weeks) after its first week: ≈ −1.43 h
    assert ns["projected"] == pytest.approx(16 * HOUR - 122 / 7 * HOUR)
    assert (ns["on_track"], ns["status"]) == (True, "on track")
    rows = compute(con, ["time_to_deploy"], Query(period="week")).rows
    assert next(r["value"] for r in rows if r["period_start"] == "2026-02-16") == ns["current"]["value"]


def test_north_star_off_track_and_past_its_date(platform: Platform) -> None:
    report, _ = _check(platform, "north_star: {metric: time_to_deploy, target: 30m, by: 2026-03-31}")
    assert report.north_star["projected"] == pytest.approx(16 * HOUR - 92 / 7 * HOUR)  # ≈ 2.86 h > 30 min
    assert (report.north_star["on_track"], report.north_star["status"]) == (False, "off track")
    past, _ = _check(platform, "north_star: {metric: time_to_deploy, target: 10h, by: 2026-02-01}")
    assert (past.north_star["on_track"], past.north_star["status"]) == (True, "achieved")


def test_inputs_kpis_with_scope_and_exit_code(platform: Platform) -> None:
    text = (
        "inputs: [{metric: manual_tasks_to_deploy, target: 2}]\n"
        "kpis:\n"
        "  - {metric: deployment_frequency, scope: {team: t3}, warn: 2, breach: 1, owner: t3-oncall}\n"
        "  - {metric: deployment_frequency, warn: 12, breach: 8}\n"
        "  - {metric: time_to_deploy, scope: {service: svc-t1}, warn: 8h, breach: 12h}\n"
    )
    report, _ = _check(platform, text)
    [inp] = report.inputs
    assert (inp["current"]["value"], inp["meets_target"], inp["status"]) == (3, False, "not met")
    statuses = [(k["current"]["value"], k["status"]) for k in report.kpis]
    assert statuses == [(1, "breach"), (10, "warn"), (9 * HOUR, "warn")]
    assert report.kpis[0]["owner"] == "t3-oncall"
    assert report.exit_code() == 1 and [k["where"] for k in report.breached] == ["kpis[0]"]
    d = report.to_dict()
    assert d["exit_code"] == 1 and d["breached"] == ["kpis[0]"]
    layers = {g["layer"]: [i["where"] for i in g["items"]] for g in d["sandwich"]}
    assert layers["product"] == ["inputs[0]", "kpis[0]", "kpis[1]", "kpis[2]"]
    assert layers["satisfaction"] == [] and layers["reliability"] == []


def test_okr_key_results(platform: Platform) -> None:
    text = (
        "okrs:\n"
        "  - objective: Ship more\n"
        "    quarter: 2026-Q1\n"
        "    key_results:\n"
        "      - {metric: deployment_frequency, baseline: 50, target: 110}\n"
        "      - {metric: deployment_frequency, target: 110}\n"
        "      - {metric: manual_tasks_to_deploy, baseline: 5, target: 3}\n"
    )
    report, _ = _check(platform, text)
    [okr] = report.okrs
    assert okr["expected_progress"] == pytest.approx(59 / 90)
    kr1, kr2, kr3 = okr["key_results"]
    # Q1 to date: weeks 5–12 (2026-01-06 … 2026-02-24), 10 deployments each
    assert (kr1["value"], kr1["progress"], kr1["status"]) == (80, pytest.approx(0.5), "behind")
    assert (kr2["baseline"], kr2["baseline_from"], kr2["progress"]) == (50, "2025-Q4", pytest.approx(0.5))
    assert (kr3["value"], kr3["progress"], kr3["status"]) == (3, pytest.approx(1.0), "achieved")
    assert okr["progress"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)


def test_unknown_scope_value_is_no_data_and_ambiguous_series_is_a_config_error(platform: Platform) -> None:
    report, _ = _check(platform, "kpis: [{metric: deployment_frequency, scope: {team: nobody}, warn: 2, breach: 1}]")
    assert report.kpis[0]["status"] == "no_data" and report.exit_code() == 0
    with pytest.raises(SeriesError, match="values per period"):
        _check(platform, "kpis: [{metric: dora_band, warn: 2, breach: 1}]")
