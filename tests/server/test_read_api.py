"""/v1/metrics, /v1/assessment and /v1/check answer as the CLI's --format json does; OpenAPI lists them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from northstar.cli import app as cli
from tests.server.conftest import Api, activity


def _load(api: Api) -> None:
    rows = [activity(i) for i in range(40)]
    assert api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest")).status_code == 200


def test_metrics_match_the_cli(api: Api, tmp_path: Path) -> None:
    _load(api)
    params = {"name": ["active_teams", "active_users"], "period": "week", "by": "team", "since": "2026-01-01"}
    r = api.client.get("/v1/metrics", params=params, headers=api.headers("read"))
    assert r.status_code == 200, r.text
    doc = r.json()
    rows = [x for x in doc["rows"] if x["metric"] == "active_teams"]
    assert {x["group"] for x in rows} == {"t0", "t1", "t2"}
    assert all(x["by"] == "team" and x["value"] == 1 for x in rows if x["n"])
    # the same document as `northstar metrics --format json` on a copy of the store
    copy = tmp_path / "copy.duckdb"
    with api.state.write_lock:
        api.state.store.con.execute("CHECKPOINT")
        api.state.store.con.execute(f"ATTACH '{copy}' AS cp")
        api.state.store.con.execute("COPY FROM DATABASE ns TO cp")
        api.state.store.con.execute("DETACH cp")
    args = ["metrics", "active_teams", "active_users", "--by", "team", "--since", "2026-01-01", "--format", "json"]
    out = CliRunner().invoke(cli, [*args, "--db", str(copy)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == doc


def test_metrics_errors(api: Api) -> None:
    h = api.headers("read")
    assert api.client.get("/v1/metrics?name=nope", headers=h).status_code == 400
    assert api.client.get("/v1/metrics?category=nope", headers=h).status_code == 400
    assert api.client.get("/v1/metrics?period=decade", headers=h).status_code == 422
    assert api.client.get("/v1/metrics?since=yesterday", headers=h).status_code == 422
    too_long = api.client.get("/v1/metrics?since=1970-01-01&period=week", headers=h)  # bounded work per request
    assert too_long.status_code == 400 and "at most 1,000 periods" in too_long.json()["detail"]


def test_assessment_and_check(api: Api) -> None:
    _load(api)
    a = api.client.get("/v1/assessment", headers=api.headers("read"))
    assert a.status_code == 200
    assert "measured_layer" in a.json()
    c = api.client.get("/v1/check", params={"as_of": "2026-02-01"}, headers=api.headers("read"))
    assert c.status_code == 200
    body = c.json()
    assert body["as_of"] == "2026-02-01" and body["exit_code"] == 0


def test_openapi_lists_every_route(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    paths = doc["paths"]
    assert {"/v1/records/{kind}", "/v1/metrics", "/v1/assessment", "/v1/check", "/v1/tokens"} <= set(paths)
    ingest = paths["/v1/records/{kind}"]["post"]
    assert {"200", "401", "403", "413", "422"} <= set(ingest["responses"])
    assert "application/x-ndjson" in ingest["requestBody"]["content"]
