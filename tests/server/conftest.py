"""An in-process server on a temporary store, with one token per scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from northstar.server import ServerState, create_app
from northstar.server.auth import create_token


def activity(i: int, **extra: object) -> dict[str, object]:
    """A valid activity record number `i`."""
    return {
        "id": f"a{i}",
        "ts": f"2026-01-{1 + i % 28:02d}T10:00:00Z",
        "actor": f"u{i % 7}",
        "team": f"t{i % 3}",
        "component": "pipelines",
        "action": "run",
        **extra,
    }


class Api:
    """A TestClient with the tokens: `api.headers("read")`."""

    def __init__(self, client: TestClient, state: ServerState, tokens: dict[str, str]) -> None:
        self.client = client
        self.state = state
        self.tokens = tokens

    def headers(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}

    def count(self, kind: str) -> int:
        with self.state.cursor() as cur:
            row = cur.execute(f'SELECT count(*) FROM "{kind}"').fetchone()
        return int(row[0])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    state = ServerState.open(tmp_path / "ns.duckdb", max_body=64 << 10)
    tokens = {
        scope: create_token(state.store.con, f"test-{scope}", [scope])[0] for scope in ("ingest", "read", "admin")
    }
    with TestClient(create_app(state)) as client:
        yield Api(client, state, tokens)
