"""A small hand-built platform for the framework tests: ten teams, four components, a quarter of deployments.

The last day of data is 2026-02-28 (a Saturday), so "now" is 2026-03-01 and the assessment window is
[2026-02-01, 2026-03-01). In that window every team uses the model server (layer 2), `mlflow_teams` teams
use MLflow (layer 3) and two use the golden path (layer 4). Each team deploys one model per week
(Tuesdays, 13 weeks): `deployment_frequency` is 10 per week, `time_to_deploy` falls by an hour a week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from northstar.engines import connect_duckdb, load_tables
from northstar.schema import rows_to_arrow

END = datetime(2026, 3, 1)  # exclusive end of the data
TEAMS = [f"t{i}" for i in range(10)]
COMPONENTS = [
    {"id": "k8s", "name": "Kubernetes", "layer": 1, "launched_at": date(2024, 1, 1)},
    {"id": "model-server", "name": "Model server", "layer": 2, "launched_at": date(2024, 6, 1)},
    {"id": "mlflow", "name": "MLflow", "layer": 3, "launched_at": date(2025, 1, 1)},
    {"id": "golden-path", "name": "Golden path", "layer": 4, "launched_at": date(2026, 1, 20)},
]


def platform_rows(mlflow_teams: int = 4, weeks: int = 13) -> dict[str, list[dict[str, Any]]]:
    """Record rows of the small platform, by kind."""
    people = [{"id": f"p{i}", "team": t} for i, t in enumerate(TEAMS)]
    activity: list[dict[str, Any]] = []

    def use(i: int, component: str, ts: datetime, with_team: bool = True) -> None:
        row = {"id": f"a{len(activity)}", "ts": ts, "actor": f"p{i}", "component": component, "action": "use"}
        if with_team:
            row["team"] = TEAMS[i]
        activity.append(row)

    for day in range(0, 60, 2):  # every other day of the last two months, the last on 2026-02-28
        ts = END - timedelta(days=day, hours=3)
        for i in range(10):
            use(i, "model-server", ts, with_team=i % 2 == 0)  # odd teams come from `people`
            if i < mlflow_teams:
                use(i, "mlflow", ts)
            if i < 2:
                use(i, "golden-path", ts)
    # an old, no longer used component and activity on an undeclared one
    use(0, "k8s", END - timedelta(days=200))
    use(1, "notebooks", END - timedelta(days=3))

    deployments = []
    first_tuesday = datetime(2025, 12, 2, 12)  # week of Monday 2025-12-01
    for w in range(weeks):
        for i, team in enumerate(TEAMS):
            finished = first_tuesday + timedelta(weeks=w, minutes=i)
            ready = finished - timedelta(hours=20 - w)
            deployments.append(
                {
                    "id": f"d{w}-{i}",
                    "service": f"svc-{team}",
                    "team": team,
                    "environment": "production",
                    "status": "succeeded",
                    "finished_at": finished,
                    "model_ready_at": ready,
                    "manual_steps": 3,
                }
            )
    return {
        "teams": [{"id": t} for t in TEAMS],
        "people": people,
        "components": [dict(c) for c in COMPONENTS],
        "activity": activity,
        "deployments": deployments,
    }


def load_platform(con: Any, rows: dict[str, list[dict[str, Any]]]) -> Any:
    load_tables(con, {kind: rows_to_arrow(kind, rs) for kind, rs in rows.items()})
    return con


@pytest.fixture
def platform() -> Callable[..., Any]:
    """`platform(mlflow_teams=4)` → an in-memory DuckDB backend holding the small platform."""

    def make(**kwargs: Any) -> Any:
        return load_platform(connect_duckdb(), platform_rows(**kwargs))

    return make


@pytest.fixture
def store_file(tmp_path: Path) -> Callable[..., Path]:
    """`store_file(mlflow_teams=4)` → a northstar store file holding the small platform."""
    from northstar.store import Store

    def make(**kwargs: Any) -> Path:
        path = tmp_path / "northstar.duckdb"
        with Store.open(path) as store:
            for kind, rs in platform_rows(**kwargs).items():
                store.upsert(kind, rows_to_arrow(kind, rs))
        return path

    return make
