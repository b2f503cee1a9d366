"""The store: schema and migrations, idempotent upserts, transactions, cursors, and real-process safety
(a second writer waits then fails clearly; a SIGKILL mid-ingest leaves the store as it was)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import northstar.store as store_module
from northstar.ingest import ingest_files
from northstar.records import KINDS
from northstar.schema import ALL_TABLES, arrow_schema
from northstar.store import SCHEMA_VERSION, Store, StoreError, StoreLocked, UpsertResult

ROOT = Path(__file__).resolve().parent.parent


def teams(*rows: tuple[str, str | None, int | None]) -> pa.Table:
    return pa.table(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "headcount": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "s.duckdb") as s:
        yield s


# -- schema ----------------------------------------------------------------------------------------------


def test_new_store_has_every_table_with_its_schema(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    for name in ALL_TABLES:
        assert store.table(name).schema().to_pyarrow() == arrow_schema(name), name
    assert store.counts() == {name: 0 for name in ALL_TABLES}
    cols = [r[0] for r in store.con.execute("DESCRIBE quarantine").fetchall()]
    assert cols == ["kind", "path", "line", "field", "reason", "raw", "quarantined_at"]


def test_migrations_run_in_order_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.duckdb"
    Store.open(path).close()
    calls: list[int] = []

    def v2(con: Any) -> None:
        calls.append(2)
        con.execute("ALTER TABLE teams ADD COLUMN IF NOT EXISTS budget DOUBLE")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, v2])
    version = len(store_module.MIGRATIONS) + 1
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", version)
    with Store.open(path) as s:
        assert s.schema_version() == version
        assert "budget" in [r[0] for r in s.con.execute("DESCRIBE teams").fetchall()]
    Store.open(path).close()
    assert calls == [2]  # applied once, on the first open after it was added


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.duckdb"
    with Store.open(path) as s:
        s.con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than this northstar"):
        Store.open(path)


def test_read_only_open_of_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    path.write_text("hello, not a database\n" * 100)
    with pytest.raises(StoreError, match=f"cannot open the store {path}"):
        Store.open(path)


# -- upserts ---------------------------------------------------------------------------------------------


def test_upsert_counts_inserted_updated_unchanged(store: Store) -> None:
    assert store.upsert("teams", teams(("a", "A", 3), ("b", "B", None))) == UpsertResult(2, 0, 0)
    assert store.upsert("teams", teams(("a", "A", 3), ("b", "B", 4), ("c", None, 1))) == UpsertResult(1, 1, 1)
    assert store.con.execute("SELECT * FROM teams ORDER BY id").fetchall() == [
        ("a", "A", 3, None),
        ("b", "B", 4, None),
        ("c", None, 1, None),
    ]


def test_upsert_duplicate_ids_last_wins(store: Store) -> None:
    assert store.upsert("teams", teams(("a", "first", 1), ("a", "second", 2))) == UpsertResult(1, 0, 0)
    assert store.upsert("teams", teams(("a", "third", 3), ("a", "second", 2))) == UpsertResult(0, 0, 1)
    assert store.con.execute("SELECT name, headcount FROM teams").fetchall() == [("second", 2)]


def test_upsert_rejects_unknown_columns_and_missing_ids(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown columns colour"):
        store.upsert("teams", pa.table({"id": ["a"], "colour": ["red"]}))
    with pytest.raises(ValueError, match="every row needs an id"):
        store.upsert("teams", pa.table({"id": pa.array([None], pa.string())}))


def test_transaction_rolls_back_on_error(store: Store) -> None:
    store.upsert("teams", teams(("a", "A", 1)))
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert("teams", teams(("a", "changed", 9), ("b", "B", 2)))
        store.set_cursor("git", "abc")
        raise RuntimeError("boom")
    assert store.con.execute("SELECT * FROM teams").fetchall() == [("a", "A", 1, None)]
    assert store.get_cursor("git") is None


def test_cursors(store: Store) -> None:
    assert store.get_cursor("mlflow") is None
    store.set_cursor("mlflow", "2025-01-01T00:00:00")
    store.set_cursor("mlflow", "2025-02-01T00:00:00")
    assert store.get_cursor("mlflow") == "2025-02-01T00:00:00"


def test_tables_are_ibis_tables(store: Store) -> None:
    store.upsert("teams", teams(("a", "A", 3), ("b", "B", 4)))
    t = store.table("teams")
    assert t.headcount.sum().execute() == 7
    assert set(KINDS) <= set(store.ibis.list_tables())


# -- real processes --------------------------------------------------------------------------------------


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read() if proc.stderr else ''}")
    raise AssertionError(f"child never printed {marker!r}")


HOLD = """
import sys, time
from northstar.store import Store
with Store.open(sys.argv[1]) as s:
    print("OPEN", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    holder = _python(HOLD, str(path), "30")
    try:
        _wait_for(holder, "OPEN")
        start = time.monotonic()
        with pytest.raises(StoreLocked) as err:
            Store.open(path, lock_timeout=1.0)
        assert 1.0 <= time.monotonic() - start < 10
        assert str(err.value).startswith(f"the store {path} is in use by another northstar process (pid {holder.pid})")
        assert "retry later or raise --lock-timeout" in str(err.value)
    finally:
        holder.kill()
        holder.wait()


def test_second_writer_gets_in_when_the_first_finishes(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    holder = _python(HOLD, str(path), "1.5")
    try:
        _wait_for(holder, "OPEN")
        start = time.monotonic()
        with Store.open(path, lock_timeout=30) as s:
            assert s.counts()["teams"] == 0
        assert time.monotonic() - start >= 0.5
    finally:
        holder.wait()


def test_cli_ingest_into_a_locked_store_fails_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    holder = _python(HOLD, str(path), "30")
    try:
        _wait_for(holder, "OPEN")
        data = ROOT / "tests" / "data" / "ingest" / "activity.csv"
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "northstar",
                "ingest",
                "activity",
                str(data),
                "--db",
                str(path),
                "--lock-timeout",
                "0.5",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"},
            timeout=60,
        )
        assert cli.returncode == 1, cli.stderr
        assert f"is in use by another northstar process (pid {holder.pid})" in cli.stderr
    finally:
        holder.kill()
        holder.wait()


def _activity_csv(path: Path, rows: int, start: int = 0) -> Path:
    ids = [f"e{i}" for i in range(start, start + rows)]
    pacsv.write_csv(
        pa.table(
            {
                "id": ids,
                "ts": [f"2025-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z" for i in range(rows)],
                "actor": [f"user{i % 997}" for i in range(rows)],
                "component": [f"c{i % 13}" for i in range(rows)],
                "action": ["deploy"] * rows,
            }
        ),
        path,
    )
    return path


PAUSE_BEFORE_COMMIT = """
import sys, time
import northstar.store as st
from northstar.ingest import ingest_files
upsert = st.Store.upsert_relation
def written_then_stall(self, *args, **kwargs):
    result = upsert(self, *args, **kwargs)
    print("WRITTEN", result, flush=True)
    time.sleep(120)
    return result
st.Store.upsert_relation = written_then_stall
with st.Store.open(sys.argv[1]) as s:
    ingest_files(s, "activity", [sys.argv[2]])
"""


def _content(path: Path) -> tuple[int, list[tuple[Any, ...]]]:
    with Store.open(path, read_only=True) as s:
        n = s.counts()["activity"]
        sample = s.con.execute("SELECT * FROM activity ORDER BY id LIMIT 50").fetchall()
    return n, sample


def test_sigkill_after_rows_are_written_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    with Store.open(db) as s:
        ingest_files(s, "activity", [_activity_csv(tmp_path / "first.csv", 1000)])
    before = _content(db)
    # overlapping ids (updates) and new ones, enough rows for DuckDB to write blocks before the commit
    big = _activity_csv(tmp_path / "big.csv", 200_000, start=500)
    child = _python(PAUSE_BEFORE_COMMIT, str(db), str(big))
    try:
        _wait_for(child, "WRITTEN", timeout=180)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _content(db) == before
    with Store.open(db) as s:  # and the store is still writable and consistent
        result = ingest_files(s, "activity", [big])
        assert (result.inserted, result.updated, result.unchanged) == (199_500, 500, 0)
        assert s.counts()["activity"] == 200_500


RUN_INGEST = """
import sys
from northstar.store import Store
from northstar.ingest import ingest_files
with Store.open(sys.argv[1]) as s:
    print("STARTED", flush=True)
    ingest_files(s, "activity", [sys.argv[2]])
    print("DONE", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_sigkill_at_any_moment_leaves_all_or_nothing(tmp_path: Path, delay: float) -> None:
    db = tmp_path / "k.duckdb"
    with Store.open(db) as s:
        ingest_files(s, "activity", [_activity_csv(tmp_path / "first.csv", 100)])
    big = _activity_csv(tmp_path / "big.csv", 400_000, start=1000)
    child = _python(RUN_INGEST, str(db), str(big))
    try:
        _wait_for(child, "STARTED")
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    n, _ = _content(db)
    assert n in (100, 400_100)


def test_timestamps_in_store_are_naive_utc(store: Store) -> None:
    store.upsert(
        "changes",
        pa.table(
            {"id": ["c"], "service": ["s"], "created_at": pa.array([datetime(2025, 1, 1, 8)], pa.timestamp("us"))}
        ),
    )
    assert store.con.execute("SELECT created_at FROM changes").fetchall() == [(datetime(2025, 1, 1, 8),)]


def test_northstar_upgrade_migrates_an_older_store_that_read_only_commands_refuse(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from northstar.cli import app

    db = tmp_path / "old.duckdb"
    with Store.open(db) as s:
        s.upsert(
            "activity",
            pa.table(
                {
                    "id": ["a"],
                    "ts": [datetime(2026, 1, 5, 9)],
                    "actor": ["ana"],
                    "team": ["red"],
                    "component": ["c"],
                    "action": ["run"],
                }
            ),
        )
        # a store written before the rollups: schema version 1, no rollup rows
        s.con.execute("DELETE FROM activity_person_days")
        s.con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    runner = CliRunner()
    refused = runner.invoke(app, ["metrics", "active_users", "--db", str(db), "--format", "json"])
    assert refused.exit_code == 2
    assert "northstar upgrade" in refused.output
    done = runner.invoke(app, ["upgrade", "--db", str(db)])
    assert done.exit_code == 0, done.output
    assert f"upgraded to schema version {SCHEMA_VERSION}" in done.output
    with Store.open(db, read_only=True) as s:
        assert s.con.execute("SELECT count(*) FROM activity_person_days").fetchone() == (1,)
    ok = runner.invoke(app, ["metrics", "active_users", "--db", str(db), "--format", "json"])
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(app, ["upgrade", "--db", str(db)])
    assert again.exit_code == 0 and "already at schema version" in again.output
    missing = runner.invoke(app, ["upgrade", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2


def test_a_missing_derived_table_is_rebuilt_on_the_next_write_open(tmp_path: Path) -> None:
    db = tmp_path / "gap.duckdb"
    with Store.open(db) as s:
        s.upsert(
            "activity",
            pa.table({"id": ["a", "b"], "ts": [datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 11)],
                      "actor": ["ana", "ana"], "team": ["red", None], "component": ["c", "c"],
                      "action": ["run", "deploy"]}),
        )  # fmt: skip
        expected = sorted(s.con.execute("SELECT * FROM activity_team_days").fetchall(), key=repr)
        s.con.execute("DROP TABLE activity_team_days")
    with pytest.raises(StoreError, match="lacks the derived tables activity_team_days; run `northstar upgrade"):
        Store.open(db, read_only=True)
    with Store.open(db) as s:
        assert sorted(s.con.execute("SELECT * FROM activity_team_days").fetchall(), key=repr) == expected
    Store.open(db, read_only=True).close()
