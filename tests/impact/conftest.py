"""A small platform on which the golden path removes exactly three manual steps per deployment.

Twelve teams deploy twice a week (Tuesday and Thursday) for 30 weeks from Monday 2026-01-05. Team i's
deployments take `4 + i % 4` manual steps, plus one in every team's deployments of weeks 7–9 (a common shock
that the comparison must difference away). Teams a0–a5 adopt the golden path on the Monday of weeks 10, 12,
…, 20 (their first activity on it) and need three steps fewer from then on; teams n0–n5 never adopt. So the
effect is exactly −3 steps per deployment, with no noise and no pre-trend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from northstar.schema import rows_to_arrow

START = datetime(2026, 1, 5)  # a Monday
WEEKS = 30
ADOPTERS = [f"a{i}" for i in range(6)]
NEVER = [f"n{i}" for i in range(6)]
TEAMS = ADOPTERS + NEVER
ADOPTION_WEEK = {team: 10 + 2 * i for i, team in enumerate(ADOPTERS)}
EFFECT = -3


def adoption(team: str) -> datetime:
    return START + timedelta(weeks=ADOPTION_WEEK[team], hours=8)


def platform_rows() -> dict[str, list[dict[str, Any]]]:
    people = [{"id": f"p-{t}", "team": t} for t in TEAMS]
    activity: list[dict[str, Any]] = []
    deployments: list[dict[str, Any]] = []
    for i, team in enumerate(TEAMS):
        for w in range(WEEKS):
            monday = START + timedelta(weeks=w)
            activity.append(
                {
                    "id": f"act-{team}-{w}",
                    "ts": monday + timedelta(hours=10),
                    "actor": f"p-{team}",
                    "component": "mlflow",
                    "action": "log_run",
                }
            )
            for day in (1, 3):
                finished = monday + timedelta(days=day, hours=12)
                treated = team in ADOPTION_WEEK and finished >= adoption(team)
                steps = 4 + i % 4 + (1 if 7 <= w <= 9 else 0) + (EFFECT if treated else 0)
                deployments.append(
                    {
                        "id": f"d-{team}-{w}-{day}",
                        "service": f"svc-{team}",
                        "team": team,
                        "environment": "production",
                        "status": "succeeded",
                        "finished_at": finished,
                        "manual_steps": steps,
                    }
                )
        if team in ADOPTION_WEEK:
            at = adoption(team)
            for k in range(3):  # the first event has no team: it comes from `people`
                row = {
                    "id": f"gp-{team}-{k}",
                    "ts": at + timedelta(days=7 * k),
                    "actor": f"p-{team}",
                    "component": "golden-path",
                    "action": "run_pipeline",
                }
                if k:
                    row["team"] = team
                activity.append(row)
    return {
        "teams": [{"id": t} for t in TEAMS],
        "people": people,
        "components": [
            {"id": "mlflow", "name": "MLflow", "layer": 3},
            {"id": "golden-path", "name": "Golden path", "layer": 4},
        ],
        "activity": activity,
        "deployments": deployments,
    }


@pytest.fixture(scope="session")
def platform_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small platform as a northstar store file."""
    from northstar.store import Store

    path = tmp_path_factory.mktemp("impact") / "northstar.duckdb"
    with Store.open(path) as store:
        for kind, rows in platform_rows().items():
            store.upsert(kind, rows_to_arrow(kind, rows))
    return path


@pytest.fixture
def platform() -> Any:
    """The small platform in an in-memory DuckDB backend."""
    from northstar.engines import connect_duckdb, load_tables

    con = connect_duckdb()
    load_tables(con, {kind: rows_to_arrow(kind, rs) for kind, rs in platform_rows().items()})
    return con


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "northstar.yaml"
        path.write_text(text)
        return path

    return write
