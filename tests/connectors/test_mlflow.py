"""MLflow connector against a real `mlflow server` (SQLite backend) started by the fixture on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.connectors.conftest import free_port, inserted, rows, sync, write_config


def api(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = httpx.post(f"{url}/api/2.0/mlflow/{path}", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


MS = 1_772_445_600_000  # 2026-03-02T10:00:00Z


def test_runs_versions_and_promotions(mlflow_url: str, people_db: Path, tmp_path: Path) -> None:
    exp = api(mlflow_url, "experiments/create", {"name": "ranking"})["experiment_id"]
    api(mlflow_url, "experiments/create", {"name": "search"})
    runs = []
    for i, user in enumerate(["ada@example.com", "bob", "ada@example.com"]):
        run = api(mlflow_url, "runs/create", {"experiment_id": exp, "user_id": user, "start_time": MS + i * 3_600_000})
        runs.append(run["run"]["info"]["run_id"])
    api(mlflow_url, "registered-models/create", {"name": "ranker"})
    v1 = api(
        mlflow_url, "model-versions/create", {"name": "ranker", "source": f"runs:/{runs[0]}/model", "run_id": runs[0]}
    )
    api(mlflow_url, "model-versions/create", {"name": "ranker", "source": f"runs:/{runs[2]}/model", "run_id": runs[2]})
    api(mlflow_url, "registered-models/alias", {"name": "ranker", "alias": "champion", "version": "1"})
    api(mlflow_url, "registered-models/alias", {"name": "ranker", "alias": "challenger", "version": "2"})

    section = {
        "type": "mlflow",
        "url": mlflow_url,
        "page_size": 2,
        "experiments": ["ranking"],
        "models": ["ranker"],
        "services": {"ranker": "ranker-svc"},
    }
    config = write_config(tmp_path, {"mlflow": section})
    code, data, err = sync(config, people_db)
    assert code == 0, err
    got = inserted(data, "mlflow")
    assert got["changes"] == 2 and got["deployments"] == 1 and got["activity"] >= 3
    assert rows(
        people_db, "SELECT ts::VARCHAR, actor, component, action FROM activity WHERE action = 'run' ORDER BY ts"
    ) == [
        ("2026-03-02 10:00:00", "ada@example.com", "mlflow", "run"),  # paged: page_size 2, three runs
        ("2026-03-02 11:00:00", "bob", "mlflow", "run"),
        ("2026-03-02 12:00:00", "ada@example.com", "mlflow", "run"),
    ]
    assert rows(people_db, "SELECT id, service, kind FROM changes ORDER BY id") == [
        ("mlflow-model:ranker/1", "ranker-svc", "model"),
        ("mlflow-model:ranker/2", "ranker-svc", "model"),
    ]
    created = int(v1["model_version"]["creation_timestamp"])
    deploy = rows(
        people_db, "SELECT service, status, model_version, epoch_ms(model_ready_at), change_ids FROM deployments"
    )
    assert deploy == [("ranker-svc", "succeeded", "ranker/1", created, ["mlflow-model:ranker/1"])]

    code, data, _ = sync(config, people_db)
    assert code == 0 and inserted(data, "mlflow") == {}  # nothing new, nothing inserted

    api(mlflow_url, "registered-models/alias", {"name": "ranker", "alias": "champion", "version": "2"})
    code, data, _ = sync(config, people_db)
    assert inserted(data, "mlflow") == {"deployments": 1}
    assert rows(people_db, "SELECT model_version FROM deployments ORDER BY finished_at") == [
        ("ranker/1",),
        ("ranker/2",),
    ]


def test_unreachable_server_is_a_clear_error(people_db: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, {"tracking": {"type": "mlflow", "url": f"http://127.0.0.1:{free_port()}"}})
    code, _, err = sync(config, people_db)
    assert code == 1 and "tracking: cannot reach the MLflow server at http://127.0.0.1:" in err
    assert rows(people_db, "SELECT count(*) FROM people") == [(3,)]
