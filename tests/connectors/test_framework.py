"""The connector framework: registry, per-connector transactions and cursors, errors that name the connector."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from northstar.connectors import BUILTIN, BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader
from northstar.store import Store
from tests.connectors.conftest import inserted, rows, sync, write_config

ROOT = Path(__file__).resolve().parents[2]


class CounterConfig(ConnectorConfig):
    fail_after: int | None = None
    bad_row: bool = False


class Counter(BaseConnector):
    """Yields one `teams` row per sync (team-N), optionally failing after the batch or with a bad row."""

    type = "counter"
    Config = CounterConfig
    config: CounterConfig
    reads: ClassVar[list[Cursor | None]] = []

    def read(self, cursor: Cursor | None) -> Reader:
        Counter.reads.append(cursor)
        n = int((cursor or {}).get("n", 0)) + 1
        rows = [{"id": f"team-{n}", "headcount": 3}]
        if self.config.bad_row:
            rows.append({"id": "bad", "headcount": -1})
        yield Batch("teams", rows)
        if self.config.fail_after is not None:
            raise ConnectorError("the source went away")
        return {"n": n}


@pytest.fixture(autouse=True)
def _counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(BUILTIN, "counter", f"{__name__}:Counter")
    Counter.reads.clear()
    yield


def test_cursor_is_kept_per_connector_and_read_back(tmp_path: Path, store_path: Path) -> None:
    config = write_config(tmp_path, {"a": {"type": "counter"}, "off": {"type": "counter", "enabled": False}})
    assert inserted(sync(config, store_path)[1], "a") == {"teams": 1}
    code, data, _ = sync(config, store_path)
    assert code == 0 and inserted(data, "a") == {"teams": 1}
    assert Counter.reads == [None, {"n": 1}]
    assert {r["connector"]: r["status"] for r in data["connectors"]} == {"a": "ok", "off": "disabled"}
    with Store.open(store_path, read_only=True) as store:
        assert json.loads(store.get_cursor("connector:a") or "") == {"n": 2}


def test_a_failing_connector_stores_nothing_and_the_others_run(tmp_path: Path, store_path: Path) -> None:
    config = write_config(tmp_path, {"flaky": {"type": "counter", "fail_after": 1}, "ok": {"type": "counter"}})
    code, data, err = sync(config, store_path)
    assert code == 1 and "flaky: the source went away (nothing from this connector was stored)" in err
    assert inserted(data, "ok") == {"teams": 1}
    assert rows(store_path, "SELECT count(*) FROM teams") == [(1,)]
    with Store.open(store_path, read_only=True) as store:
        assert store.get_cursor("connector:flaky") is None
    code, _, _ = sync(config, store_path, "ok")  # only the named connector
    assert code == 0 and Counter.reads[-1] == {"n": 1}


def test_bad_rows_reject_or_quarantine(tmp_path: Path, store_path: Path) -> None:
    config = write_config(tmp_path, {"c": {"type": "counter", "bad_row": True}})
    code, _, err = sync(config, store_path)
    assert code == 1 and "c: teams: 1 bad row" in err and "headcount" in err
    assert rows(store_path, "SELECT count(*) FROM teams") == [(0,)]
    code, data, _ = sync(config, store_path, on_error="quarantine")
    assert code == 0 and data["connectors"][0]["quarantined"] == 1
    assert rows(store_path, "SELECT kind, path FROM quarantine") == [("teams", "c:teams")]


def test_unknown_type_and_unknown_name(tmp_path: Path, store_path: Path) -> None:
    config = write_config(tmp_path, {"x": {"type": "jira"}})
    code, _, err = sync(config, store_path)
    assert code == 2 and "connectors.x.type: unknown connector type 'jira'" in err
    code, _, err = sync(write_config(tmp_path, {"a": {"type": "counter"}}), store_path, "b")
    assert code == 2 and "connectors.b: no such connector; configured: a" in err


class _Fake(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        status, body = (401, b"{}") if "locked" in self.path or self.headers.get("Authorization") else (200, b"<html>")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_unauthorised_and_malformed_http_sources(tmp_path: Path, store_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        config = write_config(
            tmp_path,
            {
                "mlflow-html": {"type": "mlflow", "url": url},
                "mlflow-auth": {"type": "mlflow", "url": url, "token": "wrong"},
                "prom-auth": {"type": "prometheus", "url": f"{url}/locked"},
            },
        )
        code, _, err = sync(config, store_path)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    assert "mlflow-html: POST" in err and "is not JSON" in err
    assert "mlflow-auth: the MLflow server at" in err and "refused the credentials (HTTP 401)" in err
    assert "prom-auth: Prometheus at" in err and "refused the credentials (HTTP 401)" in err


def test_every_connector_has_a_docs_page_with_an_example() -> None:
    text = "".join(p.read_text() for p in (ROOT / "docs" / "connectors").glob("*.md"))
    for name in BUILTIN:
        if name != "counter":
            assert f"type: {name}" in text, f"docs/connectors/ has no example config for the {name} connector"
