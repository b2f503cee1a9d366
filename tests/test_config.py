"""northstar.yaml: defaults, durations, file:line errors, `northstar init` and `northstar config`."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from northstar.cli import app
from northstar.config import (
    ConfigError,
    Settings,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)

TEMPLATE = Path(__file__).parents[1] / "src" / "northstar" / "templates" / "northstar.yaml"


def errors_of(text: str, name: str = "northstar.yaml") -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text), Path(name))
    return info.value.problems


# --- defaults -------------------------------------------------------------------------------------------


def test_defaults_are_designs() -> None:
    s = Settings()
    assert s.platform.name == "ML platform"
    assert s.components == [] and s.components_path is None
    assert s.teams.path is None and s.teams.people is None
    assert s.adoption.activation_actions == []
    assert s.adoption.activation_window == timedelta(days=14)
    assert s.adoption.value_actions == ["deploy"]
    assert s.adoption.funnel_window == timedelta(days=30)
    assert s.adoption.funnel_steps is None
    assert s.delivery.incident_link_window == timedelta(hours=24)
    assert s.reliability.saturation_threshold == 0.8
    assert s.reliability.latency_budgets == {} and s.reliability.slos == []
    assert (s.privacy.min_group_size, s.privacy.pseudonymize, s.privacy.key) == (5, False, None)
    assert s.assessment.adoption_threshold == 0.5
    assert s.assessment.window == timedelta(days=28)
    assert s.targets.min_baseline_periods == 8
    assert s.targets.min_component_age == timedelta(days=90)
    assert s.north_star is None
    assert (s.behaviours, s.inputs, s.kpis, s.okrs, s.initiatives) == ([], [], [], [], [])
    assert (s.roi.hourly_cost, s.roi.platform_cost, s.roi.hours_per_unit) == (None, None, {})
    assert s.connectors == {}
    assert s.source is None


def test_no_path_and_no_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config() == Settings()
    assert load_config().source is None


def test_no_path_reads_northstar_yaml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "northstar.yaml").write_text("platform: {name: Here}\n")
    settings = load_config()
    assert settings.platform.name == "Here"
    assert settings.source == Path("northstar.yaml")


def test_empty_file_and_empty_sections_mean_defaults() -> None:
    assert parse_config("") == Settings()
    assert parse_config("# only a comment\n") == Settings()
    assert parse_config("adoption:\nkpis:\nconnectors:\n  mlflow:\n") == Settings(connectors={"mlflow": {}})


def test_missing_explicit_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.problems == [f"{missing}: no such file (write one with `northstar init`)"]


# --- durations and values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("14d", timedelta(days=14)),
        ("4w", timedelta(weeks=4)),
        ("250ms", timedelta(milliseconds=250)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("2 days", timedelta(days=2)),
        (" 7d ", timedelta(days=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "14", "14x", "d", "-5m", "5m garbage", "1.d", "abc"])
def test_parse_duration_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration: .*250ms, 90s, 30m, 24h, 14d, 4w"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1M", "3mo", "1 month", "1y"])
def test_parse_duration_rejects_months_and_years(text: str) -> None:
    with pytest.raises(ValueError, match="months and years vary in length"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=14), "14d"),
        (timedelta(hours=24), "24h"),
        (timedelta(hours=36), "36h"),
        (timedelta(days=2, hours=3), "2d3h"),
        (timedelta(milliseconds=250), "250ms"),
        (timedelta(0), "0s"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=1, max_value=10**12))
def test_format_then_parse_duration_round_trips(ms: int) -> None:
    value = timedelta(milliseconds=ms)
    assert parse_duration(format_duration(value)) == value


def test_values_in_their_written_forms() -> None:
    s = parse_config(
        textwrap.dedent("""
        reliability:
          saturation_threshold: 90%
          latency_budgets: {ranker: 250ms, search: 1s, fraud: 0.05, ads: "0.2"}
        north_star: {metric: time_to_deploy, target: 2d, by: 2026-06-30, scope: {team: search, tier: 1}}
        inputs: [{metric: activation_rate, target: 60%}]
        okrs:
          - {objective: O, quarter: 2026q3, key_results: [{metric: adoption_rate, baseline: 0.35, target: 0.6}]}
        roi: {hourly_cost: 120, platform_cost: 400000, hours_per_unit: {manual_tasks_to_deploy: 0.5}}
        initiatives:
          - {name: a, rollout: 2026-02-01}
          - {name: b, rollout: {search: 2025-10-01, ads: 2025-11-15}}
        """)
    )
    assert s.reliability.saturation_threshold == 0.9
    assert s.reliability.latency_budgets == {"ranker": 0.25, "search": 1.0, "fraud": 0.05, "ads": 0.2}
    assert s.north_star is not None
    assert s.north_star.target == 172800.0
    assert s.north_star.by == date(2026, 6, 30)
    assert s.north_star.scope == {"team": "search", "tier": "1"}
    assert s.north_star.period == "week"
    assert s.inputs[0].target == 0.6
    assert s.okrs[0].quarter == "2026-Q3"
    assert s.okrs[0].bounds() == (date(2026, 7, 1), date(2026, 10, 1))
    assert s.roi.hours_per_unit == {"manual_tasks_to_deploy": 0.5}
    assert s.initiatives[0].rollout == date(2026, 2, 1)
    assert s.initiatives[1].rollout == {"search": date(2025, 10, 1), "ads": date(2025, 11, 15)}


def test_yaml_11_words_stay_strings() -> None:
    s = parse_config("kpis: [{metric: availability, scope: {country: no, team: on}, warn: 0.99, breach: 0.98}]\n")
    assert s.kpis[0].scope == {"country": "no", "team": "on"}


def test_okr_quarter_bounds_for_q4() -> None:
    s = parse_config("okrs: [{objective: O, quarter: Q4 2025, key_results: [{metric: nps, target: 30}]}]\n")
    assert s.okrs[0].quarter == "2025-Q4"
    assert s.okrs[0].bounds() == (date(2025, 10, 1), date(2026, 1, 1))


# --- SLOs -----------------------------------------------------------------------------------------------


def test_slo_windows_and_latency_threshold_default() -> None:
    s = parse_config(
        textwrap.dedent("""
        reliability:
          latency_budgets: {ranker: 250ms}
          slos:
            - {name: a, service: ranker, indicator: availability, objective: 0.999, window: 28d}
            - {name: b, service: ranker, indicator: latency, objective: 99%, window: calendar_month}
            - {name: c, service: ranker, indicator: latency, objective: 0.95, latency_threshold: 1s}
            - {name: d, service: ranker, indicator: availability, objective: 0.99}
        """)
    )
    a, b, c, d = s.reliability.slos
    assert (a.window, a.calendar, a.latency_threshold) == (timedelta(days=28), None, None)
    assert (b.window, b.calendar, b.latency_threshold, b.objective) == (None, "month", 0.25, 0.99)
    assert (c.window, c.latency_threshold) == (timedelta(days=28), 1.0)
    assert d.window == timedelta(days=28)


def test_latency_slo_without_threshold_or_budget_is_an_error() -> None:
    problems = errors_of("""\
        reliability:
          latency_budgets: {search: 100ms}
          slos:
            - name: lat
              service: ranker
              indicator: latency
              objective: 0.99
        """)
    assert problems == [
        "northstar.yaml:4: reliability.slos[0].latency_threshold: a latency SLO needs a latency_threshold "
        "(e.g. 250ms), or a reliability.latency_budgets entry for service 'ranker'"
    ]


def test_latency_threshold_on_an_availability_slo_is_an_error() -> None:
    problems = errors_of("""\
        reliability:
          slos:
            - {name: a, service: ranker, indicator: availability, objective: 0.99, latency_threshold: 1s}
        """)
    assert problems == [
        "northstar.yaml:3: reliability.slos[0].latency_threshold: only a latency SLO has a latency_threshold"
    ]


def test_duplicate_slo_names() -> None:
    problems = errors_of("""\
        reliability:
          slos:
            - {name: a, service: s, indicator: availability, objective: 0.9}
            - {name: a, service: t, indicator: availability, objective: 0.9}
        """)
    assert problems == ["northstar.yaml:4: reliability.slos[1].name: duplicate SLO name 'a' (also slos[0])"]


# --- errors with file:line ------------------------------------------------------------------------------


def test_bad_value_reports_file_line_key_and_reason() -> None:
    problems = errors_of(
        """\
        platform: {name: Acme}
        adoption:
          activation_window: 14x
        """,
        name="conf/northstar.yaml",
    )
    assert problems == [
        "conf/northstar.yaml:3: adoption.activation_window: not a duration: '14x' "
        "(write a number and a unit: 250ms, 90s, 30m, 24h, 14d, 4w)"
    ]


def test_bare_number_for_a_duration_is_an_error() -> None:
    assert errors_of("delivery:\n  incident_link_window: 24\n") == [
        "northstar.yaml:2: delivery.incident_link_window: write a duration with a unit (e.g. 24d or 24h), "
        "got a bare number 24"
    ]


def test_out_of_range_value() -> None:
    problems = errors_of("""\
        reliability:
          slos:
            - name: ranker-availability
              service: ranker
              indicator: availability
              objective: 1.5
        """)
    assert problems == ["northstar.yaml:6: reliability.slos[0].objective: input should be less than 1, got 1.5"]


def test_unknown_key_with_suggestion() -> None:
    assert errors_of("adoption:\n  activation_windw: 14d\n") == [
        "northstar.yaml:2: adoption.activation_windw: unknown key (did you mean 'activation_window'?)"
    ]
    assert errors_of("behaviors: []\n") == ["northstar.yaml:1: behaviors: unknown key (did you mean 'behaviours'?)"]
    (problem,) = errors_of("zzz: 1\n")
    assert problem.startswith("northstar.yaml:1: zzz: unknown key (expected one of: platform, components, teams,")


def test_unknown_component_field_with_suggestion() -> None:
    assert errors_of("components:\n  - {id: mlflow, layer: 3}\n  - {id: feast, lyer: 3}\n") == [
        "northstar.yaml:3: components[1].layer: required key is missing",
        "northstar.yaml:3: components[1].lyer: unknown key (did you mean 'layer'?)",
    ]


def test_bad_choice_suggests_the_closest() -> None:
    problems = errors_of("kpis:\n  - {metric: availability, warn: 0.99, breach: 0.98, period: weekly}\n")
    assert problems == [
        "northstar.yaml:2: kpis[0].period: input should be 'day', 'week', 'month' or 'quarter', got 'weekly' "
        "(did you mean 'week'?)"
    ]


def test_yaml_syntax_error_has_its_line() -> None:
    assert errors_of("platform:\n  name: Acme\nadoption:\n  value_actions: deploy: now\n") == [
        "northstar.yaml:4: YAML syntax error: mapping values are not allowed here"
    ]
    assert errors_of("platform: {name: Acme\nadoption: {}\n") == [
        "northstar.yaml:2: YAML syntax error: expected ',' or '}', but got ':' (while parsing a flow mapping, line 1)"
    ]
    assert errors_of("platform:\n\tname: Acme\n") == [
        "northstar.yaml:2: YAML syntax error: found character '\\t' that cannot start any token "
        "(indent with spaces, not tabs)"
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert errors_of("- a\n- b\n") == [
        "northstar.yaml:1: the file must be a mapping of sections (platform:, adoption:, …), got a list"
    ]


def test_several_errors_are_reported_together_in_line_order() -> None:
    problems = errors_of("""\
        platform: {name: Acme}
        privacy: {min_group_size: 0}
        adoption:
          value_actons: [deploy]
        kpis:
          - metric: availability
            warn: 0.999
        okrs:
          - {objective: O, quarter: 2026-Q5, key_results: []}
        north_star: {metric: time_to_deploy, target: soon, by: 2026-13-01}
        initiatives: [{name: nothing}]
        """)
    assert problems == [
        "northstar.yaml:2: privacy.min_group_size: input should be greater than or equal to 1, got 0",
        "northstar.yaml:4: adoption.value_actons: unknown key (did you mean 'value_actions'?)",
        "northstar.yaml:6: kpis[0].breach: required key is missing",
        "northstar.yaml:9: okrs[0].quarter: not a quarter: '2026-Q5' (write e.g. 2026-Q1)",
        "northstar.yaml:9: okrs[0].key_results: needs at least 1 item",
        "northstar.yaml:10: north_star.target: expected a number, a percentage (60%) or a duration (2d), got 'soon'",
        "northstar.yaml:10: north_star.by: input should be a valid date or datetime, month value is outside "
        "expected range of 1-12, got '2026-13-01'",
        "northstar.yaml:11: initiatives[0]: give a `component` (adoption of it is the treatment) or a `rollout` date",
    ]


def test_duplicate_keys_are_errors() -> None:
    assert errors_of("adoption:\n  activation_window: 7d\n  activation_window: 14d\n") == [
        "northstar.yaml:3: adoption.activation_window: duplicate key (first on line 2)"
    ]


def test_pseudonymize_needs_a_key() -> None:
    assert errors_of("privacy:\n  pseudonymize: true\n") == [
        "northstar.yaml:1: privacy.key: pseudonymize: true needs a secret key; write `key: ${NORTHSTAR_PSEUDONYM_KEY}`"
    ]


def test_duplicate_component_ids() -> None:
    assert errors_of("components:\n  - {id: a, layer: 1}\n  - {id: a, layer: 2}\n") == [
        "northstar.yaml:3: components[1].id: duplicate component id 'a' (also components[0])"
    ]


# --- environment interpolation --------------------------------------------------------------------------


def test_env_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NS_TEST_KEY", "s3cret")
    monkeypatch.delenv("NS_TEST_UNSET", raising=False)
    s = parse_config(
        "privacy: {pseudonymize: true, key: '${NS_TEST_KEY}'}\n"
        "connectors: {git: {a: '${NS_TEST_UNSET:-fallback}', b: 'cost $$5 ${NS_TEST_KEY}'}}\n"
    )
    assert s.privacy.key == "s3cret"
    assert s.connectors == {"git": {"a": "fallback", "b": "cost $5 s3cret"}}


def test_env_interpolation_of_an_unset_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NS_TEST_UNSET", raising=False)
    assert errors_of("platform: {name: '${NS_TEST_UNSET}'}\nconnectors:\n  slack: {token: '${NS_TEST_UNSET}'}\n") == [
        "northstar.yaml:1: platform.name: environment variable NS_TEST_UNSET is not set",
        "northstar.yaml:3: connectors.slack.token: environment variable NS_TEST_UNSET is not set",
    ]


# --- components and roster files ------------------------------------------------------------------------


def test_components_from_a_csv_inventory_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "components.csv").write_text(
        "id,name,layer,category,launched_at,activation_actions\n"
        "k8s,Kubernetes,1,compute,,\n"
        'mlflow,MLflow,3,tracking,2024-03-01,"[""log_run""]"\n'
    )
    config = tmp_path / "northstar.yaml"
    config.write_text("components: inv/components.csv\n")
    s = load_config(config)
    assert s.components_path == tmp_path / "inv" / "components.csv"
    assert [(c.id, c.layer, c.launched_at, c.activation_actions) for c in s.components] == [
        ("k8s", 1, None, None),
        ("mlflow", 3, date(2024, 3, 1), ["log_run"]),
    ]


def test_components_from_a_yaml_inventory_reports_rows_by_line(tmp_path: Path) -> None:
    inventory = tmp_path / "components.yaml"
    inventory.write_text("- {id: k8s, layer: 1}\n- {id: bad, layer: 9}\n")
    config = tmp_path / "northstar.yaml"
    config.write_text("components: components.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.problems == [f"{inventory}:2: layer: Input should be less than or equal to 4"]


def test_duplicate_ids_in_a_jsonl_inventory(tmp_path: Path) -> None:
    inventory = tmp_path / "components.jsonl"
    inventory.write_text('{"id": "a", "layer": 1}\n\n{"id": "a", "layer": 2}\n')
    config = tmp_path / "northstar.yaml"
    config.write_text(f"components: {inventory}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.problems == [f"{inventory}:3: id: duplicate component id 'a' (first at {inventory}:1)"]


def test_missing_inventory_and_roster_files_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "northstar.yaml"
    config.write_text("platform: {name: x}\ncomponents: nope.csv\nteams: roster/teams.csv\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.problems == [
        f"{config}:2: components: file not found: {tmp_path / 'nope.csv'}",
        f"{config}:3: teams.path: file not found: {tmp_path / 'roster' / 'teams.csv'}",
    ]


# --- the template and `northstar init` ------------------------------------------------------------------

runner = CliRunner()


def test_template_loads_with_the_expected_values() -> None:
    s = parse_config(TEMPLATE.read_text(), TEMPLATE)
    assert s.platform.name == "Acme ML Platform"
    assert [(c.id, c.layer) for c in s.components] == [
        ("gpu-pool", 0),
        ("kubernetes", 1),
        ("kserve", 2),
        ("mlflow", 3),
        ("feast", 3),
        ("golden-path", 4),
    ]
    assert s.adoption.activation_actions == ["first_pipeline"]
    assert s.delivery.incident_link_window == timedelta(hours=24)
    assert s.reliability.latency_budgets == {"ranker": 0.25, "fraud-scorer": 0.1}
    avail, latency = s.reliability.slos
    assert (avail.name, avail.service, avail.indicator, avail.objective, avail.window) == (
        "ranker-availability",
        "ranker",
        "availability",
        0.999,
        timedelta(days=28),
    )
    assert (latency.calendar, latency.latency_threshold) == ("month", 0.25)
    assert s.north_star is not None
    assert (s.north_star.metric, s.north_star.target, s.north_star.by) == (
        "time_to_deploy",
        172800.0,
        date(2026, 6, 30),
    )
    assert [(k.metric, k.scope, k.warn, k.breach) for k in s.kpis] == [
        ("availability", {"service": "ranker"}, 0.999, 0.995),
        ("change_failure_rate", {}, 0.15, 0.25),
    ]
    assert s.okrs[0].quarter == "2026-Q1"
    assert s.okrs[0].key_results[1].baseline == 5 * 86400.0
    assert (s.roi.hourly_cost, s.roi.platform_cost) == (120.0, 400000.0)
    assert s.connectors == {}
    assert s.privacy == Settings().privacy


def test_template_mentions_every_section() -> None:
    text = TEMPLATE.read_text()
    for name, field in Settings.model_fields.items():
        if not field.exclude:
            assert re.search(rf"^(# )?{name}:", text, re.MULTILINE), f"template lacks section {name}"


def test_init_writes_a_loadable_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    written = tmp_path / "proj" / "northstar.yaml"
    assert f"Wrote {written}" in result.stdout
    assert "northstar config --config" in result.stdout
    assert written.read_text() == TEMPLATE.read_text()
    assert load_config(written) == parse_config(TEMPLATE.read_text(), TEMPLATE)

    written.write_text("platform: {name: mine}\n")
    again = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert written.read_text() == "platform: {name: mine}\n"

    forced = runner.invoke(app, ["init", str(tmp_path / "proj"), "--force"])
    assert forced.exit_code == 0
    assert written.read_text() == TEMPLATE.read_text()


def test_init_accepts_a_yaml_file_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "conf" / "ns.yml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "conf" / "ns.yml").read_text() == TEMPLATE.read_text()


def test_template_ships_as_package_data() -> None:
    from importlib.resources import files

    assert files("northstar").joinpath("templates", "northstar.yaml").read_text() == TEMPLATE.read_text()


# --- `northstar config` ---------------------------------------------------------------------------------


def test_config_command_honours_northstar_config_env(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("platform: {name: From Env}\ndelivery: {incident_link_window: 6h}\n")
    result = runner.invoke(app, ["config", "--format", "json"], env={"NORTHSTAR_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["platform"] == {"name": "From Env"}
    assert doc["delivery"] == {"incident_link_window": "6h"}
    assert doc["adoption"]["activation_window"] == "14d"


def test_config_option_beats_env(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("platform: {name: A}\n")
    b.write_text("platform: {name: B}\n")
    result = runner.invoke(app, ["config", "-f", "json", "--config", str(b)], env={"NORTHSTAR_CONFIG": str(a)})
    assert json.loads(result.stdout)["platform"]["name"] == "B"


def test_config_command_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "northstar.yaml"
    config.write_text("adoption:\n  activation_window: 2x\nbehaviors: []\n")
    result = runner.invoke(app, ["config", "--config", str(config)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{config}:2: adoption.activation_window: not a duration: '2x'")
    assert lines[1] == f"{config}:3: behaviors: unknown key (did you mean 'behaviours'?)"
    assert lines[2] == f"error: {config}: 2 problems (listed above)"


def test_config_command_with_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "--config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "missing.yaml: no such file" in result.stderr


def test_config_yaml_output_round_trips(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "--config", str(TEMPLATE), "--show-secrets"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# northstar effective settings: from {TEMPLATE}\n")
    assert parse_config(result.stdout) == parse_config(TEMPLATE.read_text(), TEMPLATE)


def test_config_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "northstar.yaml"
    config.write_text("privacy: {pseudonymize: true, key: k3y}\nconnectors: {slack: {token: t0k, channel: ml}}\n")
    shown = yaml.safe_load(runner.invoke(app, ["config", "--config", str(config)]).stdout)
    assert shown["privacy"]["key"] == "***"
    assert shown["connectors"] == {"slack": {"token": "***", "channel": "ml"}}
    revealed = json.loads(
        runner.invoke(app, ["config", "--config", str(config), "-f", "json", "--show-secrets"]).stdout
    )
    assert revealed["privacy"]["key"] == "k3y"


def test_config_table_and_csv_list_dotted_keys(tmp_path: Path) -> None:
    config = tmp_path / "northstar.yaml"
    config.write_text("reliability:\n  slos: [{name: a, service: s, indicator: availability, objective: 0.99}]\n")
    result = runner.invoke(app, ["config", "--config", str(config), "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = dict(line.split(",", 1) for line in result.stdout.strip().splitlines()[1:])
    assert rows["reliability.slos[0].objective"] == "0.99"
    assert rows["reliability.slos[0].window"] == "28d"
    assert rows["adoption.value_actions"] == '"[""deploy""]"'
