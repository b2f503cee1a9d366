"""MLflow + git + Slack export + Prometheus synced into one store; `northstar metrics` computes from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from northstar.cli import app
from tests.connectors.conftest import inserted, runner, sync, write_config
from tests.connectors.test_git import commit, git
from tests.connectors.test_mlflow import api
from tests.connectors.test_slack import msg, write_export


def metric_values(config: Path, db: Path, *names: str) -> dict[str, list[dict[str, Any]]]:
    result = runner.invoke(
        app, ["metrics", *names, "--period", "month", "--config", str(config), "--db", str(db), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    out: dict[str, list[dict[str, Any]]] = {}
    for row in json.loads(result.stdout)["rows"]:
        if row["value"] is not None:
            out.setdefault(row["metric"], []).append(row)
    return out


def test_four_sources_into_one_scorecard(mlflow_url: str, prometheus_url: str, people_db: Path, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    day = (now - timedelta(days=2)).replace(hour=9, minute=0, second=0)
    iso = lambda d: d.isoformat()  # noqa: E731

    # MLflow: two teams run experiments (adoption)
    exp = api(mlflow_url, "experiments/create", {"name": "e2e"})["experiment_id"]
    for i, user in enumerate(["ada@example.com", "bob", "olga"]):
        start = int((day + timedelta(hours=i)).timestamp() * 1000)
        api(mlflow_url, "runs/create", {"experiment_id": exp, "user_id": user, "start_time": start})

    # git: commits and release tags (delivery)
    repo = tmp_path / "ranker"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "a", iso(day))
    git(repo, "tag", "-a", "v1", "-m", "r", when=iso(day + timedelta(hours=5)))
    commit(repo, "b", iso(day + timedelta(hours=6)))
    git(repo, "tag", "-a", "v2", "-m", "r", when=iso(day + timedelta(hours=8)))

    # Slack: a question and the platform owner's answer (support)
    root = f"{int(day.timestamp())}.000100"
    write_export(
        tmp_path / "slack",
        {
            day.date().isoformat(): [
                msg("U01", iso(day), "how do I deploy?", at=root, thread_ts=root),
                msg("U02", iso(day), "like this", at=f"{int(day.timestamp()) + 600}.000200", thread_ts=root),
            ]
        },
    )

    connectors = {
        "tracking": {"type": "mlflow", "url": mlflow_url, "experiments": ["e2e"], "models": ["none"]},
        "ranker-repo": {"type": "git", "path": "ranker", "service": "ranker", "team": "ranking"},
        "support": {"type": "slack", "path": "slack", "channels": ["ml-platform-help"]},
        "prom": {"type": "prometheus", "url": prometheus_url, "step": "5s", "lag": "2s", "backfill": "1m",
                 "services": {"ranker": "ranker"}},
    }  # fmt: skip
    extra = {
        "components": [{"id": "mlflow", "layer": 3, "category": "tracking"}],
        "privacy": {"min_group_size": 1},
    }
    config = write_config(tmp_path, connectors, extra)
    code, data, err = sync(config, people_db)
    assert code == 0, err
    assert inserted(data, "tracking") == {"activity": 3}
    assert inserted(data, "ranker-repo") == {"changes": 2, "deployments": 2}
    assert inserted(data, "support") == {"support_messages": 2}
    assert inserted(data, "prom")["service_samples"] >= 1

    values = metric_values(
        config, people_db, "active_teams", "deployment_frequency", "lead_time_for_changes", "error_rate",
        "time_to_first_answer",
    )  # fmt: skip
    month = day.strftime("%Y-%m-01")
    active = [r for r in values["active_teams"] if r["period_start"] == month]
    assert active and active[0]["value"] == 3  # ranking, search, platform (teams from people)
    lead = [r for r in values["lead_time_for_changes"] if r["period_start"] == month]
    assert lead and lead[0]["value"] == 3.5 * 3600  # median of 5 h (a → v1) and 2 h (b → v2)
    assert "deployment_frequency" in values
    answer = [r for r in values["time_to_first_answer"] if r["period_start"] == month]
    assert answer and answer[0]["value"] == pytest.approx(
        600, abs=0.01
    )  # olga, a platform owner in people, answered after 10 min
    assert values["error_rate"] and all(abs(r["value"] - 0.1) < 0.03 for r in values["error_rate"])
