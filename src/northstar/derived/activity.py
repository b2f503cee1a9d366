"""Activity rollups: `activity_days` (per day, team, actor, component), `activity_person_days` (per day, team,
actor), `activity_team_days` (per day, team and component; the actor only when the event has no team) and
`activity_firsts` (per team, actor, component and action over all history).

All keep the event's own `team` (null when the event has none); metrics resolve it from `people` when they
read the rollup, so a later change to `people` needs no rebuild. Together they let every adoption metric
read ~10× fewer rows than the raw event stream: distinct units per day or period, first-ever activity, first
activation or value action.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "days_arrow",
    "days_maintain",
    "firsts_arrow",
    "firsts_maintain",
    "person_days_arrow",
    "person_days_maintain",
    "team_days_arrow",
    "team_days_maintain",
]

DAY_KEYS = ("day", "team", "actor", "component")
PERSON_DAY_KEYS = ("day", "team", "actor")
FIRST_KEYS = ("team", "actor", "component", "action")


def _rollup(t: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    g = t.group_by(list(keys), use_threads=False).aggregate([("ts", "count"), ("ts", "min")])
    return g.rename_columns({"ts_count": "events", "ts_min": "first_ts"})


def _days(tables: Mapping[str, pa.Table], keys: tuple[str, ...], *, actor_without_team: bool = False) -> pa.Table:
    """A per-day rollup of activity by `keys`; with `actor_without_team`, the actor only for events without a
    team (the SQL twin is `_TEAM_ACTOR`)."""
    a = tables["activity"]
    cols = {k: a.column(k) for k in keys if k != "day"}
    if actor_without_team:
        cols["actor"] = pc.if_else(pc.is_null(a.column("team")), a.column("actor"), pa.scalar(None, pa.string()))
    t = pa.table({"ts": a.column("ts"), "day": pc.floor_temporal(a.column("ts"), unit="day"), **cols})
    return _rollup(t, keys)


def days_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    return _days(tables, DAY_KEYS)


def person_days_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    return _days(tables, PERSON_DAY_KEYS)


def team_days_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    return _days(tables, DAY_KEYS, actor_without_team=True)


def firsts_arrow(tables: Mapping[str, pa.Table]) -> pa.Table:
    return _rollup(tables["activity"].select(["ts", *FIRST_KEYS]), FIRST_KEYS)


def _same(keys: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" for k in keys)


def _maintain(
    con: Any, table: str, keys: tuple[str, ...], key_sql: dict[str, str], added: str, removed: str | None
) -> None:
    cols = ", ".join(f"{key_sql.get(k, k)} AS {k}" for k in keys)
    keylist = ", ".join(keys)
    agg = f"SELECT {cols}, count(*) AS events, min(ts) AS first_ts FROM {{src}} GROUP BY ALL"
    if removed is None:
        # only new rows: add their counts and keep the earlier first event
        con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_roll AS {agg.format(src=added)}")
        try:
            if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0]:
                con.execute(
                    f"UPDATE {table} SET events = {table}.events + a.events, "
                    f"first_ts = least({table}.first_ts, a.first_ts) FROM _ns_roll a WHERE {_same(keys, table, 'a')}"
                )
                con.execute(
                    f"INSERT INTO {table} SELECT a.* FROM _ns_roll a ANTI JOIN {table} t ON {_same(keys, 'a', 't')}"
                )
            else:
                con.execute(f"INSERT INTO {table} SELECT * FROM _ns_roll")
        finally:
            con.execute("DROP TABLE IF EXISTS _ns_roll")
        return
    # rows replaced: recompute every touched key from the (already written) activity table
    both = " UNION ALL ".join(f"SELECT ts, team, actor, component, action FROM {r}" for r in (added, removed))
    touched = f"SELECT DISTINCT {cols} FROM ({both})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _ns_touch AS {touched}")
    try:
        con.execute(f"DELETE FROM {table} USING _ns_touch k WHERE {_same(keys, table, 'k')}")
        src = f"(SELECT a.* FROM (SELECT ts, {cols} FROM activity) a SEMI JOIN _ns_touch k ON {_same(keys, 'a', 'k')})"
        con.execute(f"INSERT INTO {table} SELECT {keylist}, count(*), min(ts) FROM {src} GROUP BY ALL")
    finally:
        con.execute("DROP TABLE IF EXISTS _ns_touch")


_DAY = {"day": "date_trunc('day', ts)"}
_TEAM_ACTOR = {**_DAY, "actor": "CASE WHEN team IS NULL THEN actor END"}


def days_maintain(con: Any, added: str, removed: str | None) -> None:
    _maintain(con, "activity_days", DAY_KEYS, _DAY, added, removed)


def person_days_maintain(con: Any, added: str, removed: str | None) -> None:
    _maintain(con, "activity_person_days", PERSON_DAY_KEYS, _DAY, added, removed)


def team_days_maintain(con: Any, added: str, removed: str | None) -> None:
    _maintain(con, "activity_team_days", DAY_KEYS, _TEAM_ACTOR, added, removed)


def firsts_maintain(con: Any, added: str, removed: str | None) -> None:
    _maintain(con, "activity_firsts", FIRST_KEYS, {}, added, removed)
