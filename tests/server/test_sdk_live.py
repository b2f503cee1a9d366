"""The tracking SDK against a real `northstar serve`: down, then up — nothing lost, nothing duplicated."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from northstar.sdk import Tracker
from northstar.server import ServerState
from northstar.server.auth import create_token
from tests.server.live import free_port, serving


def _stored(db: Path) -> list[str]:
    from northstar.store import Store

    with Store.open(db, read_only=True) as store:
        return [r[0] for r in store.con.execute("SELECT id FROM activity").fetchall()]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str, int]:
    db = tmp_path / "live.duckdb"
    state = ServerState.open(db)
    try:
        token = create_token(state.store.con, "sdk", ["ingest"])[0]
    finally:
        state.close()
    return db, token, free_port()


def test_server_down_then_up(setup: tuple[Path, str, int], tmp_path: Path) -> None:
    db, token, port = setup
    spool = tmp_path / "spool"
    url = f"http://127.0.0.1:{port}"
    tracker = Tracker(url, token, spool, batch_size=20, flush_interval=0.1, timeout=2)
    ids = [f"e{i}" for i in range(60)]
    try:
        for i in ids[:30]:  # the server is down: nothing raises, everything is spooled
            tracker.track("run", actor="ana", team="search", component="pipelines", id=i, step=3)
        assert tracker.flush(timeout=1) is False
        assert sum(len(p.read_text().splitlines()) for p in tracker._outstanding()) == 30

        # a second program exits while the server is down: its events stay in the same spool
        child = textwrap.dedent(f"""
            from northstar.sdk import Tracker
            t = Tracker({url!r}, {token!r}, {str(spool)!r}, timeout=1)
            for i in range(10):
                t.track("run", actor="bo", component="pipelines", id=f"c{{i}}")
        """)
        subprocess.run([sys.executable, "-c", child], check=True, timeout=60)
        ids += [f"c{i}" for i in range(10)]

        with serving(db, port, tmp_path / "server.log"):
            for i in ids[30:60]:
                tracker.track("run", actor="ana", team="search", component="pipelines", id=i)
            assert tracker.flush(timeout=20) is True
            assert not list(spool.glob("*.jsonl*"))
            # the server owns the store: a CLI ingest fails with a clear message
            events = tmp_path / "events.jsonl"
            events.write_text('{"id": "x", "ts": "2026-01-01", "actor": "a", "component": "c", "action": "b"}\n')
            ingest = ["ingest", "activity", str(events), "--db", str(db), "--lock-timeout", "0"]
            cli = subprocess.run(
                [sys.executable, "-m", "northstar", *ingest],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert cli.returncode == 1
            assert "in use by another northstar process" in cli.stderr
    finally:
        tracker.close(timeout=1)
    stored = _stored(db)
    assert sorted(stored) == sorted(ids)  # nothing lost, nothing duplicated


def test_exit_flush_with_server_up(setup: tuple[Path, str, int], tmp_path: Path) -> None:
    db, token, port = setup
    spool = tmp_path / "spool"
    child = textwrap.dedent(f"""
        import northstar
        from northstar import sdk
        sdk.configure("http://127.0.0.1:{port}", {token!r}, {str(spool)!r}, flush_interval=30)
        for i in range(25):
            northstar.track("deploy", actor="ana", component="serving", id=f"x{{i}}", model="ranker")
    """)
    with serving(db, port, tmp_path / "server.log"):
        subprocess.run([sys.executable, "-c", child], check=True, timeout=60)
    assert sorted(_stored(db)) == sorted(f"x{i}" for i in range(25))
    assert not list(spool.glob("*.jsonl*"))


def test_track_never_raises(tmp_path: Path) -> None:
    t = Tracker("http://127.0.0.1:9", "ns_x_y", tmp_path / "s", timeout=0.2)
    t.track("run", actor="a", component="c", weird=object())  # not JSON: kept as its str()
    t.track("run", actor="a", component="c", ts="not a datetime")  # type: ignore[arg-type]
    assert t.flush(timeout=0.5) is False
    lines = [line for p in (tmp_path / "s").glob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(lines) == 1 and '"weird": "<object object' in lines[0]
    t.close(timeout=0.2)


def test_default_spool_is_per_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("NORTHSTAR_SPOOL", raising=False)
    a, b = Tracker("http://127.0.0.1:1"), Tracker("http://127.0.0.1:2")
    assert a.spool.parent == b.spool.parent == tmp_path / "northstar" / "spool"
    assert a.spool != b.spool
