"""The activity rollups the store keeps incrementally equal a build from scratch, after any sequence of writes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.derived import build_all
from northstar.schema import arrow_schema
from northstar.store import Store

T0 = datetime(2025, 12, 30, 22, 0)

event = st.fixed_dictionaries(
    {
        "id": st.sampled_from([f"e{i}" for i in range(12)]),
        # around a day boundary and a year boundary, to the microsecond
        "ts": st.one_of(
            st.sampled_from([T0, T0 + timedelta(hours=2), T0 + timedelta(hours=26)]),
            st.integers(0, 3 * 86400 * 10**6).map(lambda us: T0 + timedelta(microseconds=us)),
        ),
        # few values, so that batches often meet the same rollup keys
        "actor": st.sampled_from(["ana", "bo"]),
        "team": st.sampled_from([None, "red"]),
        "component": st.just("train"),
        "action": st.sampled_from(["run", "deploy"]),
    }
)
batches = st.lists(st.lists(event, max_size=8), min_size=1, max_size=5)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema("activity")
    return pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)


def _rows(store: Store, name: str) -> list[tuple[Any, ...]]:
    return sorted(store.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_store_rollups_equal_a_build_from_scratch(writes: list[list[dict[str, Any]]]) -> None:
    with Store.open(":memory:") as store:
        for batch in writes:
            store.upsert("activity", _table(batch))
        stored = store.con.execute("SELECT * FROM activity").to_arrow_table()
        expected = {"activity": stored}
        build_all(expected, only=["activity_days", "activity_person_days", "activity_team_days", "activity_firsts"])
        for name in ("activity_days", "activity_person_days", "activity_team_days", "activity_firsts"):
            want = sorted((tuple(r.values()) for r in expected[name].to_pylist()), key=repr)
            assert _rows(store, name) == want, name


def test_an_update_moves_an_event_between_days_and_keys() -> None:
    with Store.open(":memory:") as store:
        store.upsert(
            "activity",
            _table(
                [
                    {"id": "a", "ts": T0, "actor": "ana", "team": None, "component": "c", "action": "run"},
                    {
                        "id": "b",
                        "ts": T0 + timedelta(hours=1),
                        "actor": "ana",
                        "team": None,
                        "component": "c",
                        "action": "run",
                    },
                ]
            ),
        )
        assert _rows(store, "activity_days") == [
            (datetime(2025, 12, 30), None, "ana", "c", 2, T0),
        ]
        # the first event moves to the next day and another action: both rollups follow, nothing is left over
        store.upsert(
            "activity",
            _table(
                [
                    {
                        "id": "a",
                        "ts": T0 + timedelta(days=1),
                        "actor": "ana",
                        "team": None,
                        "component": "c",
                        "action": "deploy",
                    }
                ]
            ),
        )
        assert _rows(store, "activity_days") == sorted(
            [
                (datetime(2025, 12, 30), None, "ana", "c", 1, T0 + timedelta(hours=1)),
                (datetime(2025, 12, 31), None, "ana", "c", 1, T0 + timedelta(days=1)),
            ],
            key=repr,
        )
        assert _rows(store, "activity_firsts") == sorted(
            [
                (None, "ana", "c", "deploy", 1, T0 + timedelta(days=1)),
                (None, "ana", "c", "run", 1, T0 + timedelta(hours=1)),
            ],
            key=repr,
        )


def test_migration_builds_the_rollups_of_an_existing_store(tmp_path: Any) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    with Store.open(path) as store:
        store.upsert(
            "activity",
            _table([{"id": "a", "ts": T0, "actor": "ana", "team": "red", "component": "c", "action": "run"}]),
        )
        # make it look like a version-1 store: no rollup rows, schema version 1
        store.con.execute("DELETE FROM activity_days")
        store.con.execute("DELETE FROM activity_firsts")
        store.con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with Store.open(path) as store:
        assert _rows(store, "activity_days") == [(datetime(2025, 12, 30), "red", "ana", "c", 1, T0)]
        assert _rows(store, "activity_firsts") == [("red", "ana", "c", "run", 1, T0)]
    duckdb.connect(str(path)).close()
