"""Every route needs a token with its scope; tokens are stored hashed; `northstar token` manages them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from northstar.cli import app as cli
from tests.server.conftest import Api, activity

ROUTES = [
    ("post", "/v1/records/activity", "ingest"),
    ("get", "/v1/metrics?name=active_teams", "read"),
    ("get", "/v1/assessment", "read"),
    ("get", "/v1/check", "read"),
    ("get", "/metrics", "read"),
    ("get", "/v1/tokens", "admin"),
    ("post", "/v1/tokens", "admin"),
    ("delete", "/v1/tokens/nope", "admin"),
]


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, object] = {"headers": headers}
    if method == "post":
        kwargs["json"] = {"name": "x", "scopes": ["read"]} if "tokens" in path else [activity(1)]
    return int(getattr(api.client, method)(path, **kwargs).status_code)


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
def test_route_scopes(api: Api, method: str, path: str, scope: str) -> None:
    assert _call(api, method, path, {}) == 401
    assert _call(api, method, path, {"Authorization": "Bearer ns_0000_nope"}) == 401
    assert _call(api, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    for other in ("ingest", "read"):
        if other != scope:
            assert _call(api, method, path, api.headers(other)) == 403
    assert _call(api, method, path, api.headers(scope)) in (200, 404)
    assert _call(api, method, path, api.headers("admin")) in (200, 404)  # admin implies every scope


def test_unauthenticated_health(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"


def test_tokens_are_stored_hashed(api: Api) -> None:
    with api.state.cursor() as cur:
        stored = {r[0] for r in cur.execute("SELECT sha256 FROM api_tokens").fetchall()}
    for token in api.tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_token_api_create_use_revoke(api: Api) -> None:
    r = api.client.post("/v1/tokens", json={"name": "bot", "scopes": ["ingest"]}, headers=api.headers("admin"))
    assert r.status_code == 200
    new = r.json()
    assert new["scopes"] == ["ingest"] and new["active"]
    bearer = {"Authorization": f"Bearer {new['token']}"}
    assert api.client.post("/v1/records/activity", json=[activity(1)], headers=bearer).status_code == 200
    listed = api.client.get("/v1/tokens", headers=api.headers("admin")).json()
    assert "token" not in listed[0] and new["id"] in {t["id"] for t in listed}
    assert api.client.delete(f"/v1/tokens/{new['id']}", headers=api.headers("admin")).json()["active"] is False
    assert api.client.post("/v1/records/activity", json=[activity(1)], headers=bearer).status_code == 401
    bad = api.client.post("/v1/tokens", json={"name": "x", "scopes": ["root"]}, headers=api.headers("admin"))
    assert bad.status_code == 422


def test_token_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "t.duckdb")
    runner = CliRunner()
    made = runner.invoke(cli, ["token", "create", "ci", "--scope", "ingest", "--scope", "read", "--db", db])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("ns_")
    token_id = token.split("_")[1]
    listed = runner.invoke(cli, ["token", "list", "--db", db, "--format", "json"])
    assert listed.exit_code == 0
    assert '"ingest"' in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli, ["token", "revoke", token_id, "--db", db]).exit_code == 0
    assert '"active": false' in runner.invoke(cli, ["token", "list", "--db", db, "--format", "json"]).stdout
    assert runner.invoke(cli, ["token", "revoke", "nope", "--db", db]).exit_code == 2
    assert runner.invoke(cli, ["token", "create", "x", "--scope", "root", "--db", db]).exit_code == 2

    from northstar.server import ServerState
    from northstar.server.auth import verify_token

    state = ServerState.open(db)
    try:
        assert verify_token(state.store.con, token) is None
    finally:
        state.close()
