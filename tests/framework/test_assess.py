"""Step 1: declared vs measured layer on a hand-built platform, Step 1B, claimed vs actual, Steps 2–3."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from northstar.config import parse_config
from northstar.framework import assess, lint, measurable_categories
from northstar.framework.assess import merge_components
from tests.framework.conftest import load_platform, platform_rows

Platform = Callable[..., Any]


def test_layers_shares_and_window(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=4), parse_config(""))
    assert (a.window_start, a.window_end) == (datetime(2026, 2, 1), datetime(2026, 3, 1))
    assert a.active_teams == 10  # odd teams' events carry no team: it comes from `people`
    shares = {c.id: (c.teams, c.share, c.adopted, c.present) for c in a.components}
    assert shares == {
        "k8s": (0, 0.0, False, True),  # layers 0–1 count as present when declared, used or not
        "model-server": (10, 1.0, True, True),
        "mlflow": (4, 0.4, False, False),
        "golden-path": (2, 0.2, False, False),
    }
    assert (a.declared_layer, a.measured_layer) == (4, 2)
    assert a.measurable == ["reliability", "satisfaction"]
    assert a.unmeasurable == ["adoption", "delivery", "feature_store"]
    assert any("notebooks" in n for n in a.notes)  # activity on an undeclared component is reported


def test_step1b_warning_and_claimed_vs_actual_at_layer_2(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=4), parse_config(""))
    assert a.step1b_warning is not None and "unreliable" in a.step1b_warning
    assert a.claimed_vs_actual is not None
    assert "claim the platform layer but have yet to ascend to it" in a.claimed_vs_actual
    assert "mlflow (layer 3) used by 4 of 10 active teams (40%)" in a.claimed_vs_actual


def test_threshold_is_inclusive_and_layer_3_has_no_step1b(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=5), parse_config(""))  # 5 of 10 = exactly the 0.5 threshold
    assert a.component("mlflow") is not None and a.component("mlflow").adopted  # type: ignore[union-attr]
    assert a.measured_layer == 3
    assert a.step1b_warning is None
    assert "delivery" in a.measurable and "adoption" not in a.measurable


def test_threshold_and_window_from_config(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=4), parse_config("assessment: {adoption_threshold: 0.4, window: 14d}"))
    assert a.window_start == datetime(2026, 2, 15)
    assert a.measured_layer == 3


def test_until_moves_the_window(platform: Platform) -> None:
    a = assess(platform(), parse_config(""), until=datetime(2026, 1, 1))
    # activity starts 2026-01-01 (60 days before the end): nothing in December
    assert a.active_teams == 0
    assert a.measured_layer == 1
    assert any("no team activity" in n for n in a.notes)


def test_config_components_win_over_the_store(platform: Platform) -> None:
    settings = parse_config(
        "components:\n  - {id: mlflow, name: MLflow tracking, layer: 2}\n  - {id: notebooks, layer: 3}\n"
    )
    a = assess(platform(mlflow_teams=4), settings)
    mlflow, notebooks = a.component("mlflow"), a.component("notebooks")
    assert mlflow is not None and (mlflow.layer, mlflow.name, mlflow.source) == (2, "MLflow tracking", "store+config")
    assert notebooks is not None and notebooks.source == "config" and notebooks.teams == 1
    assert not any("notebooks" in n for n in a.notes)


def test_merge_components_without_store() -> None:
    settings = parse_config("components: [{id: gpus, layer: 0}, {id: zenml, layer: 4}]")
    comps = merge_components([], settings)
    assert [(c.id, c.source) for c in comps] == [("gpus", "config"), ("zenml", "config")]
    a = assess(None, settings)
    assert (a.declared_layer, a.measured_layer) == (4, 0)
    assert a.step1b_warning is not None


def test_no_components_means_unknown_layer() -> None:
    a = assess(None, parse_config(""))
    assert a.measured_layer is None and a.declared_layer is None
    assert a.measurable == [] and a.step1b_warning is None
    assert any("no components declared" in n for n in a.notes)


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (0, ["reliability", "satisfaction"]),
        (2, ["reliability", "satisfaction"]),
        (3, ["delivery", "reliability", "satisfaction", "feature_store"]),
        (4, ["adoption", "delivery", "reliability", "satisfaction", "feature_store"]),
    ],
)
def test_measurable_categories(layer: int, expected: list[str]) -> None:
    assert measurable_categories(layer) == expected


def test_behaviours_and_candidates(platform: Platform) -> None:
    settings = parse_config(
        "behaviours:\n"
        "  - {name: self-serve deploys, baseline: hand-off, desired: ship alone,"
        " metrics: [time_to_deploy, availability, accuracy]}\n"
    )
    a = assess(platform(mlflow_teams=4), settings)
    [b] = a.behaviours
    assert (b["name"], b["baseline"], b["desired"]) == ("self-serve deploys", "hand-off", "ship alone")
    marks = {m["metric"]: (m["known"], m.get("measurable")) for m in b["metrics"]}
    assert marks == {"time_to_deploy": (True, False), "availability": (True, True), "accuracy": (False, None)}
    # Step 3 at layer 2: reliability outputs and the per-component adoption of the adopted layer-2 component
    cands = a.candidates
    assert cands and all(c["question"] and c["why"] for c in cands)
    assert {c["category"] for c in cands if not c["scope"]} == {"reliability"}
    assert {"metric": "adoption_rate", "scope": {"component": "model-server"}}.items() <= next(
        c for c in cands if c["scope"]
    ).items()
    # every candidate passes the lint at the measured layer
    for c in cands:
        scope = "{" + ", ".join(f"{k}: {v}" for k, v in c["scope"].items()) + "}"
        report = lint(parse_config(f"north_star: {{metric: {c['metric']}, scope: {scope}}}"), assessment=a)
        assert not [f for f in report.findings if f.rule == "NS003"], c


def test_candidates_at_layer_3_are_delivery(platform: Platform) -> None:
    a = assess(platform(mlflow_teams=6), parse_config(""))
    assert a.measured_layer == 3
    assert [c["metric"] for c in a.candidates][:2] == ["time_to_deploy", "lead_time_for_changes"]
    assert {c["category"] for c in a.candidates} == {"delivery"}


def test_to_dict_is_one_json_object(platform: Platform) -> None:
    d = assess(platform(), parse_config("")).to_dict()
    assert d["window"] == {"start": "2026-02-01", "end": "2026-03-01"}
    assert d["declared_layer"] == 4 and d["measured_layer"] == 2
    assert [layer["name"] for layer in d["layers"]] == ["hardware", "compute", "services", "workflow", "platform"]
    assert d["layers"][4]["components"] == ["golden-path"] and d["layers"][4]["present"] is False
    golden = next(c for c in d["components"] if c["id"] == "golden-path")
    assert golden["launched_at"] == date(2026, 1, 20).isoformat()


def test_assess_is_the_same_on_every_backend(backend: Any) -> None:
    a = assess(load_platform(backend, platform_rows(mlflow_teams=5)), parse_config(""))
    assert (a.window_start, a.window_end, a.active_teams) == (datetime(2026, 2, 1), datetime(2026, 3, 1), 10)
    assert [(c.id, c.teams) for c in a.components] == [
        ("k8s", 0),
        ("model-server", 10),
        ("mlflow", 5),
        ("golden-path", 2),
    ]
    assert (a.declared_layer, a.measured_layer) == (4, 3)
