"""`northstar demo`: the simulated organisation is valid, deterministic, and plants what its ground truth says.

The checks below recompute the planted effects from the generated tables with plain pandas, independently
of `northstar.demo.truth`, and compare them with ground-truth.json.
"""

from __future__ import annotations

import dataclasses
import json
import resource
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from northstar.cli import app
from northstar.demo import DemoData, generate, headline, write_demo
from northstar.records import COLUMNS, KINDS, parse_le, validate_record
from northstar.schema import arrow_schema

END = pd.Timestamp("2026-11-01")
LAST_28 = END - pd.Timedelta(days=28)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(7)


@pytest.fixture(scope="module")
def frames(data: DemoData) -> dict[str, pd.DataFrame]:
    return {kind: t.to_pandas() for kind, t in data.tables.items()}


@pytest.fixture(scope="module")
def activity(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Activity with the team resolved from `people` where the source left it out."""
    act = frames["activity"].copy()
    team_of = frames["people"].set_index("id")["team"]
    act["team"] = act["team"].fillna(act["actor"].map(team_of))
    return act


def small(data: DemoData, rows: int = 300) -> DemoData:
    return dataclasses.replace(data, tables={k: t.slice(0, rows) for k, t in data.tables.items()})


# --- shape and validity ---------------------------------------------------------------------------------


def test_every_kind_has_exactly_its_storage_schema(data: DemoData) -> None:
    assert set(data.tables) == set(KINDS)
    for kind in KINDS:
        assert data.tables[kind].schema == arrow_schema(kind), kind
        assert data.tables[kind].num_rows > 0, kind


def test_required_fields_are_never_null(data: DemoData) -> None:
    for kind in KINDS:
        table = data.tables[kind]
        for col in COLUMNS[kind]:
            if col.required:
                assert table.column(col.name).null_count == 0, f"{kind}.{col.name}"


def test_ids_are_unique_within_each_kind(frames: dict[str, pd.DataFrame]) -> None:
    for kind, df in frames.items():
        assert df["id"].is_unique, kind


def test_records_validate(data: DemoData) -> None:
    rng = np.random.default_rng(0)
    for kind in KINDS:
        table = data.tables[kind]
        n = table.num_rows
        idx = np.arange(n) if n <= 500 else np.sort(rng.choice(n, 500, replace=False))
        for row in table.take(idx).to_pylist():
            record = {k: v for k, v in row.items() if v is not None}
            validate_record(kind, record)  # raises RecordError naming the field


def test_sizes_are_within_the_stated_ranges(data: DemoData, frames: dict[str, pd.DataFrame]) -> None:
    c = data.counts
    assert c["teams"] == 40
    assert 380 <= c["people"] <= 420
    assert 9 <= c["components"] <= 10
    assert set(frames["components"]["layer"]) == {0, 1, 2, 3, 4}
    assert 150_000 <= c["activity"] <= 600_000
    assert c["service_samples"] <= 500_000
    services = frames["service_samples"]["service"].nunique()
    assert 6 <= services <= 10
    assert set(frames["service_samples"]["interval_s"]) <= {300.0, 600.0, 900.0}
    assert 50 <= c["features"] <= 70
    assert c["feature_usage"] >= c["features"]
    roles = frames["people"]["role"].value_counts()
    assert 2 <= roles["platform_owner"] <= 8
    owners_teams = frames["people"].loc[frames["people"]["role"] == "platform_owner", "team"]
    assert set(owners_teams) == {"team-platform"}
    prod = frames["deployments"][frames["deployments"]["environment"] == "production"]
    assert set(prod["status"]) == {"succeeded", "failed", "rolled_back"}
    assert (frames["deployments"]["environment"] == "staging").sum() > 100
    assert set(frames["changes"]["kind"]) == {"code", "model"}


def test_everything_happens_inside_the_period(frames: dict[str, pd.DataFrame]) -> None:
    start = pd.Timestamp("2025-11-01")
    for kind, col in [
        ("activity", "ts"),
        ("service_samples", "ts"),
        ("survey_responses", "ts"),
        ("support_messages", "ts"),
        ("incidents", "opened_at"),
    ]:
        ts = frames[kind][col]
        assert ts.min() >= start and ts.max() < END, kind
    assert frames["deployments"]["finished_at"].max() < END


def test_references_resolve(frames: dict[str, pd.DataFrame]) -> None:
    people = set(frames["people"]["id"])
    teams = set(frames["teams"]["id"])
    assert set(frames["people"]["team"]) <= teams
    act = frames["activity"]
    assert set(act["actor"]) <= people
    assert set(act["component"]) == set(frames["components"]["id"])
    assert set(act["team"].dropna()) <= teams
    assert 0 < act["team"].isna().mean() < 0.1  # some sources leave the team out

    dep = frames["deployments"]
    changes = frames["changes"].set_index("id")
    shipped = set(dep["change_ids"].explode())
    assert shipped <= set(changes.index)
    model = dep[dep["model_version"].notna()]
    assert len(model) > 500
    assert set(model["model_version"]) <= set(changes.index[changes["kind"] == "model"])
    assert (model["model_ready_at"] <= model["started_at"]).all()
    assert (dep["started_at"] <= dep["finished_at"]).all()
    assert model["model_version"].str.match(r"^models:/[a-z0-9-]+/\d+$").all()

    inc = frames["incidents"]
    assert set(inc["caused_by_deployment"].dropna()) <= set(dep["id"])
    assert set(frames["feature_usage"]["feature"]) <= set(frames["features"]["id"])
    assert set(frames["survey_responses"]["respondent"]) <= people
    msg = frames["support_messages"]
    assert set(msg["thread_id"].dropna()) <= set(msg["id"])
    assert set(msg.loc[~msg["is_bot"], "author"]) <= people


# --- determinism -----------------------------------------------------------------------------------------


def test_same_seed_same_organisation(data: DemoData) -> None:
    again = generate(7)
    for kind in KINDS:
        assert again.tables[kind].equals(data.tables[kind]), kind
    assert again.config_yaml == data.config_yaml
    assert json.dumps(again.ground_truth) == json.dumps(data.ground_truth)


def test_another_seed_another_organisation(data: DemoData) -> None:
    other = generate(8)
    assert not other.tables["activity"].equals(data.tables["activity"])
    assert not other.tables["deployments"].equals(data.tables["deployments"])
    assert (
        other.ground_truth["golden_path_effect"]["treated_teams"]
        != data.ground_truth["golden_path_effect"]["treated_teams"]
    )
    # the story holds for any seed
    assert other.ground_truth["layers"]["measured"] == 3
    assert other.ground_truth["layers"]["component_share"]["golden-path"] < 0.5


def test_start_and_days_move_the_period() -> None:
    d = generate(3, start=date(2024, 1, 1), days=180)
    ts = d.tables["activity"].column("ts").to_pandas()
    assert ts.min() >= pd.Timestamp("2024-01-01") and ts.max() < pd.Timestamp("2024-06-29")
    assert d.ground_truth["period"] == {
        "start": "2024-01-01",
        "end": "2024-06-29",
        "last_day": "2024-06-28",
        "days": 180,
    }
    with pytest.raises(ValueError, match="days"):
        generate(3, days=30)


# --- the planted story -----------------------------------------------------------------------------------


def test_layer_story_claimed_vs_actual(data: DemoData, activity: pd.DataFrame, frames: dict[str, Any]) -> None:
    last = activity[activity["ts"] >= LAST_28]
    active = last["team"].nunique()
    share = last.groupby("component")["team"].nunique() / active
    layer = frames["components"].set_index("id")["layer"]
    truth = data.ground_truth["layers"]
    assert truth["declared"] == 4 and truth["measured"] == 3 and truth["claimed_vs_actual"] is True
    assert truth["active_teams"] == active
    assert share["golden-path"] < 0.5
    for comp in layer.index[layer == 3]:
        assert share[comp] > 0.5, comp
    for comp, value in share.items():
        assert truth["component_share"][comp] == pytest.approx(value, abs=1e-4)
    adopted = [int(layer[c]) for c, v in share.items() if v >= 0.5]
    assert max(adopted) == truth["measured"]


def test_adoption_curves_churn_and_return(data: DemoData, activity: pd.DataFrame) -> None:
    gp = data.ground_truth["adoption"]["components"]["golden-path"]
    assert gp["never"] and gp["churned"] and gp["churned_and_returned"]
    g = activity[activity["component"] == "golden-path"]
    months = g.groupby(g["ts"].dt.to_period("M"))["team"].nunique()
    assert months.index.min() == pd.Period("2026-03", "M")  # launched 2026-03-01
    assert months.iloc[-1] > months.iloc[0]
    for team in gp["churned"]:
        assert g.loc[g["team"] == team, "ts"].max() < LAST_28, team
    for team in gp["churned_and_returned"]:
        seen = g.loc[g["team"] == team, "ts"].sort_values()
        assert seen.max() >= LAST_28 and seen.diff().max() > pd.Timedelta(days=14), team
    for team in gp["never"]:
        assert team not in set(g["team"]), team
    assert (activity["action"] == "feature_request").sum() > 100
    assert (activity["action"] == "first_pipeline").sum() > 20


def test_golden_path_adoption_dates_are_first_activity(data: DemoData, activity: pd.DataFrame) -> None:
    truth = data.ground_truth["golden_path_effect"]
    first = activity[activity["component"] == "golden-path"].groupby("team")["ts"].min()
    for team, at in truth["adoption_dates"].items():
        assert first[team] == pd.Timestamp(at), team
    assert len(truth["treated_teams"]) >= 10 and len(truth["never_treated_teams"]) >= 10
    dates = sorted(truth["adoption_dates"].values())
    assert pd.Timestamp(dates[-1]) - pd.Timestamp(dates[0]) > pd.Timedelta(days=60)  # staggered


def _lead_times(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    dep = frames["deployments"]
    ok = dep[(dep["environment"] == "production") & (dep["status"] == "succeeded")]
    first = ok.explode("change_ids").groupby("change_ids")["finished_at"].min().rename("deployed")
    ch = frames["changes"].set_index("id").join(first, how="inner")
    ch["lead_h"] = (ch["deployed"] - ch["created_at"]).dt.total_seconds() / 3600
    return ch


def _ratio_after_before(values: pd.DataFrame, at: pd.Timestamp, time_col: str, value_col: str) -> float:
    after = values[time_col] >= at
    return float(values.loc[after, value_col].median() / values.loc[~after, value_col].median())


def test_golden_path_cuts_lead_time_by_the_planted_factor(data: DemoData, frames: dict[str, Any]) -> None:
    truth = data.ground_truth["golden_path_effect"]
    lt = _lead_times(frames)
    assert (lt["lead_h"] > 0).all()
    treated = [
        _ratio_after_before(lt[lt["team"] == t], pd.Timestamp(at), "deployed", "lead_h")
        for t, at in truth["adoption_dates"].items()
    ]
    assert np.median(treated) == pytest.approx(truth["lead_time_factor"], abs=0.08)
    assert truth["measured"]["lead_time_ratio_median"] == pytest.approx(np.median(treated), abs=1e-3)
    # teams that never adopt show no change around the same dates (the comparison group)
    mid = pd.Timestamp(np.median([pd.Timestamp(v).value for v in truth["adoption_dates"].values()]))
    control = [
        _ratio_after_before(lt[lt["team"] == t], mid, "deployed", "lead_h")
        for t in truth["never_treated_teams"]
        if (lt.loc[lt["team"] == t, "deployed"] < mid).sum() >= 10
    ]
    assert len(control) >= 10
    assert np.median(control) == pytest.approx(1.0, abs=0.12)


def test_golden_path_cuts_time_to_deploy_and_manual_steps(data: DemoData, frames: dict[str, Any]) -> None:
    truth = data.ground_truth["golden_path_effect"]
    dep = frames["deployments"]
    prod = dep[dep["environment"] == "production"].copy()
    prod["ttd_h"] = (prod["finished_at"] - prod["model_ready_at"]).dt.total_seconds() / 3600
    ok = prod[(prod["status"] == "succeeded") & prod["model_ready_at"].notna()]
    ratios, deltas = [], []
    for team, at in truth["adoption_dates"].items():
        at = pd.Timestamp(at)
        t_ok = ok[ok["team"] == team]
        if (t_ok["finished_at"] >= at).sum() >= 5 and (t_ok["finished_at"] < at).sum() >= 5:
            ratios.append(_ratio_after_before(t_ok, at, "finished_at", "ttd_h"))
        steps = prod[(prod["team"] == team) & prod["manual_steps"].notna()]
        after = steps["finished_at"] >= at
        deltas.append(steps.loc[after, "manual_steps"].mean() - steps.loc[~after, "manual_steps"].mean())
    assert np.median(ratios) == pytest.approx(truth["time_to_deploy_factor"], abs=0.1)
    assert np.mean(deltas) == pytest.approx(truth["manual_steps_delta"], abs=0.3)
    assert (prod["manual_steps"].dropna() >= 0).all()
    assert 0 < prod["manual_steps"].isna().mean() < 0.2
    assert dep.loc[dep["environment"] == "staging", "manual_steps"].isna().all()


def test_incidents_linked_explicitly_by_time_or_not_at_all(data: DemoData, frames: dict[str, Any]) -> None:
    inc = frames["incidents"]
    dep = frames["deployments"]
    ok = dep[(dep["environment"] == "production") & (dep["status"] == "succeeded")].sort_values("finished_at")
    loose = inc[inc["caused_by_deployment"].isna()].sort_values("opened_at")
    linked = pd.merge_asof(
        loose,
        ok[["service", "finished_at"]],
        left_on="opened_at",
        right_on="finished_at",
        by="service",
        tolerance=pd.Timedelta(hours=24),
    )
    assert inc["caused_by_deployment"].notna().sum() >= 50
    assert linked["finished_at"].notna().sum() >= 50
    assert linked["finished_at"].isna().sum() >= 20
    planted = data.ground_truth["delivery"]["incidents_planted"]
    assert sum(planted.values()) == len(inc)
    assert planted["unrelated"] >= 10 and planted["time_only"] >= 20
    assert set(inc["severity"]) == {"sev1", "sev2", "sev3", "sev4"}
    done = inc["resolved_at"].notna()
    assert (inc.loc[done, "resolved_at"] >= inc.loc[done, "opened_at"]).all()
    cfr = data.ground_truth["delivery"]["change_failure_rate"]
    assert 0.03 < cfr["value"] < 0.15


def test_service_samples_histograms_and_utilisation(data: DemoData, frames: dict[str, Any]) -> None:
    s = frames["service_samples"]
    assert ((s["cpu_util"] >= 0) & (s["cpu_util"] <= 1)).all()
    assert ((s["memory_util"] >= 0) & (s["memory_util"] <= 1)).all()
    assert (s["errors"] <= s["requests"]).all()
    for row in s.sample(300, random_state=1).itertuples():
        buckets = sorted((parse_le(k), v) for k, v in json.loads(row.latency_buckets).items())
        counts = [v for _, v in buckets]
        assert buckets[-1][0] == float("inf") and counts[-1] == row.requests
        assert counts == sorted(counts)
    hot = s[["cpu_util", "memory_util"]].max(axis=1) >= 0.8
    by = hot.groupby(s["service"]).mean()
    truth = data.ground_truth["reliability"]
    assert by[truth["saturated_service"]] > 0.3
    assert (by.drop(truth["saturated_service"]) < 0.05).all()


def test_outages_open_incidents_and_breach_the_kpi(data: DemoData, frames: dict[str, Any]) -> None:
    truth = data.ground_truth["reliability"]
    inc = frames["incidents"]
    s = frames["service_samples"]
    for o in truth["outages"]:
        start, end = pd.Timestamp(o["start"]), pd.Timestamp(o["end"])
        near = inc[(inc["service"] == o["service"]) & inc["opened_at"].between(start, start + pd.Timedelta(minutes=15))]
        assert len(near) >= 1, o
        during = s[(s["service"] == o["service"]) & s["ts"].between(start, end - pd.Timedelta(seconds=1))]
        assert during["errors"].sum() / during["requests"].sum() > 0.03
    kpi = truth["kpi_breach"]
    last = s[(s["service"] == kpi["service"]) & (s["ts"] >= LAST_28)]
    availability = 1 - last["errors"].sum() / last["requests"].sum()
    assert availability == pytest.approx(kpi["value"], abs=1e-6)
    assert availability < kpi["breach"] and kpi["breached"] is True
    others = s[(s["service"] != kpi["service"]) & (s["ts"] >= LAST_28)]
    assert (1 - others.groupby("service")["errors"].sum() / others.groupby("service")["requests"].sum() > 0.997).all()


def test_nps_improves_exactly_as_planted(data: DemoData, frames: dict[str, Any]) -> None:
    r = frames["survey_responses"]
    nps = r[r["scale"] == "nps"]
    by_survey = nps.groupby("survey")["score"].apply(lambda x: 100 * ((x >= 9).mean() - (x <= 6).mean()))
    surveys = data.ground_truth["satisfaction"]["surveys"]
    assert len(surveys) == 4
    values = [float(by_survey[s["survey"]]) for s in surveys]
    assert values == sorted(values)
    for s, v in zip(surveys, values, strict=True):
        assert v == pytest.approx(s["nps"], abs=1e-3)
        assert v == pytest.approx(s["nps_planted"], abs=1.0)
    quarters = nps.groupby(nps["ts"].dt.to_period("Q"))["survey"].nunique()
    assert (quarters == 1).all() and len(quarters) == 4  # one survey per calendar quarter
    space = r[r["scale"] == "likert5"]
    assert set(space["dimension"]) == {"satisfaction", "performance", "activity", "communication", "efficiency"}
    first, last = space["survey"].min(), space["survey"].max()
    assert space.loc[space["survey"] == last, "score"].mean() > space.loc[space["survey"] == first, "score"].mean()


def test_support_users_answer_each_other_more_over_time(data: DemoData, frames: dict[str, Any]) -> None:
    msg = frames["support_messages"]
    roots = msg[msg["thread_id"].isna() | (msg["thread_id"] == msg["id"])]
    asker = roots.set_index("id")["author"]
    replies = msg[msg["thread_id"].notna() & (msg["thread_id"] != msg["id"]) & ~msg["is_bot"]]
    replies = replies[replies["author"] != replies["thread_id"].map(asker)]
    role = frames["people"].set_index("id")["role"]
    by_q = (replies["author"].map(role) != "platform_owner").groupby(replies["ts"].dt.to_period("Q")).mean()
    truth = data.ground_truth["support"]["support_ratio_by_quarter"]
    for q, v in by_q.items():
        assert truth[str(q).replace("Q", "-Q")]["value"] == pytest.approx(v, abs=1e-4)
    assert by_q.iloc[-1] > by_q.iloc[0] + 0.3
    assert msg["is_bot"].any() and (msg["author"] == "platform-bot").sum() == msg["is_bot"].sum()


def test_feature_store_owners_and_reuse(data: DemoData, frames: dict[str, Any]) -> None:
    feats, use = frames["features"], frames["feature_usage"]
    consumers = use.groupby("feature")["consumer"].nunique()
    reused = (feats["id"].map(consumers).fillna(0) >= 2).mean()
    owned = feats["owner"].notna().mean()
    truth = data.ground_truth["features"]
    assert 0.6 < owned < 1 and owned == pytest.approx(truth["ownership_share"], abs=1e-4)
    assert 0.2 < reused < 0.8 and reused == pytest.approx(truth["reuse_share"], abs=1e-4)
    assert set(feats["source_kind"]) == {"batch", "stream"}
    assert (feats["last_materialized_at"] >= feats["created_at"]).all()


def test_config_is_valid_and_matches_the_data(data: DemoData, frames: dict[str, Any]) -> None:
    from northstar.config import parse_config

    settings = parse_config(data.config_yaml, Path("northstar-demo/northstar.yaml"))
    comps = frames["components"].set_index("id")
    assert {c.id: c.layer for c in settings.components} == comps["layer"].to_dict()
    assert settings.platform.name == "Acme ML Platform"
    assert settings.adoption.activation_actions == ["first_pipeline"]
    assert settings.adoption.value_actions == ["deploy"]
    assert settings.north_star is not None and settings.north_star.metric == "time_to_deploy"
    services = set(frames["service_samples"]["service"])
    assert set(settings.reliability.latency_budgets) == services
    assert 2 <= len(settings.reliability.slos) <= 3
    assert {slo.service for slo in settings.reliability.slos} <= services
    breach = data.ground_truth["reliability"]["kpi_breach"]
    kpi = next(k for k in settings.kpis if k.metric == "availability")
    assert kpi.scope == {"service": breach["service"]} and kpi.breach == breach["breach"]
    assert settings.okrs and settings.inputs and settings.behaviours
    assert settings.roi.hourly_cost and settings.roi.platform_cost


def test_ground_truth_headline(data: DemoData) -> None:
    truth = json.loads(json.dumps(data.ground_truth))
    assert truth == data.ground_truth  # JSON-able as is
    assert set(truth) >= {"generator", "period", "counts", "layers", "golden_path_effect", "delivery"}
    assert truth["golden_path_effect"]["lead_time_factor"] == 0.6
    assert truth["golden_path_effect"]["manual_steps_delta"] == -3
    rows = headline(truth)
    assert len(rows) >= 6 and all(set(r) == {"finding", "planted", "in the data"} for r in rows)


# --- files, store and command line ----------------------------------------------------------------------


def test_write_demo_replaces_the_store(data: DemoData, tmp_path: Path) -> None:
    part = small(data)
    first = write_demo(part, tmp_path)
    again = write_demo(part, tmp_path)
    assert again.db_path == first.db_path == tmp_path / "northstar.duckdb"
    with duckdb.connect(str(again.db_path), read_only=True) as con:
        for kind in KINDS:
            assert con.sql(f"select count(*) from {kind}").fetchone() == (part.tables[kind].num_rows,)
        assert con.sql("select count(*) from latency_buckets").fetchone()[0] > 0  # type: ignore[index]
    assert json.loads(again.ground_truth_path.read_text()) == data.ground_truth
    assert again.config_path.read_text() == data.config_yaml
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ground-truth.json", "northstar.duckdb", "northstar.yaml"]


def test_cli_demo_json(data: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import northstar.demo

    monkeypatch.setattr(northstar.demo, "generate", lambda seed=7, **_: small(data))
    result = CliRunner().invoke(app, ["demo", "--seed", "7", "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["counts"] == small(data).counts
    assert Path(out["store"]) == tmp_path / "northstar.duckdb"
    assert out["planted"] == headline(data.ground_truth)
    assert any("northstar metrics --db" in n for n in out["next"])


def test_cli_demo_out_must_be_a_directory(data: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import northstar.demo

    monkeypatch.setattr(northstar.demo, "generate", lambda seed=7, **_: small(data))
    (tmp_path / "file").write_text("not a directory")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "file")])
    assert result.exit_code == 2
    assert "cannot write the demo under" in result.output


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.slow
def test_cli_demo_writes_the_three_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    cpu_before = _cpu_seconds()
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--format", "json"])
    cpu = _cpu_seconds() - cpu_before
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for name in ("northstar.duckdb", "northstar.yaml", "ground-truth.json"):
        assert (out / name).is_file(), name
    truth = json.loads((out / "ground-truth.json").read_text())
    assert report["counts"] == truth["counts"]
    with duckdb.connect(str(out / "northstar.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from activity").fetchone() == (truth["counts"]["activity"],)
        assert con.sql("select count(*) from service_samples").fetchone() == (truth["counts"]["service_samples"],)
    # The whole demo must stay well under a minute: it is the first thing a user runs. CPU time (this process
    # and DuckDB's threads) rather than wall time, so a busy machine does not fail the test.
    assert cpu < 45, f"demo used {cpu:.0f} s of CPU; wall seconds per step: {report['seconds']}"


def test_cli_demo_table_output(data: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import northstar.demo

    monkeypatch.setattr(northstar.demo, "generate", lambda seed=7, **_: small(data))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "northstar metrics --db" in result.stdout
    assert str(tmp_path / "ground-truth.json") in result.stdout
    assert "golden path → lead time" in result.stdout
