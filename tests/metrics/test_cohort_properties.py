"""Laws of the cohort metrics on random activity (DuckDB): retention, lifecycle and funnel.

- retention: offset 0 is 1, every cell is in [0, 1], each cohort's offsets run 0…(last window period − c),
  and every cell equals the share counted here from the events;
- lifecycle: new + returning + resurrecting = units active in the period, and returning − dormant = units
  active in the previous period (both counted here, independently, from the events);
- funnel: step 0 is 1 and the values never increase along the steps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, compute
from northstar.metrics.context import period_floor, period_starts, shift_period
from northstar.records import validate_record
from northstar.schema import rows_to_arrow

BASE = datetime(2025, 11, 17)  # history before the window, which spans the new year
SINCE = datetime(2025, 12, 1)  # a Monday and a month start; mid-quarter, so the first quarter is cut
TEAMS = ("a", "b", "c", "d", "e")
ACTIONS = ("login", "first_pipeline", "deploy")
UNTILS = {"day": (12, 40), "week": (21, 70), "month": (31, 100), "quarter": (40, 200)}

event = st.tuples(
    st.integers(0, len(TEAMS) - 1),
    st.integers(0, 110),  # days after BASE (some after --until: never seen)
    st.integers(0, 23),
    st.integers(0, len(ACTIONS) - 1),
)


@pytest.fixture(scope="module")
def con() -> Any:
    con = connect_duckdb()
    load_tables(con, {})  # every table, empty; each example then loads `activity` (and its rollups)
    return con


def _load(con: Any, events: list[tuple[int, int, int, int]]) -> list[tuple[str, datetime, str]]:
    rows = []
    out = []
    for i, (team, day, hour, action) in enumerate(events):
        ts = BASE + timedelta(days=day, hours=hour)
        rows.append(
            validate_record(
                "activity",
                {
                    "id": f"e{i}",
                    "ts": ts,
                    "actor": f"p-{TEAMS[team]}",
                    "team": TEAMS[team],
                    "component": "orch",
                    "action": ACTIONS[action],
                },
            ).model_dump()
        )
        out.append((TEAMS[team], ts, ACTIONS[action]))
    load_tables(con, {"activity": rows_to_arrow("activity", rows)})  # and the rollups built from it
    return out


def _run(con: Any, name: str, period: str, until: datetime, cfg: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    query = Query(period=period, since=SINCE, until=until)  # type: ignore[arg-type]
    return compute(con, [name], query, Settings.model_validate(cfg or {})).rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(event, min_size=1, max_size=40),
    period=st.sampled_from(["day", "week", "month", "quarter"]),
    span=st.integers(0, 1000),
)
def test_retention_cells_are_shares_and_the_triangle_is_complete(
    con: Any, events: list[tuple[int, int, int, int]], period: str, span: int
) -> None:
    lo, hi = UNTILS[period]
    until = SINCE + timedelta(days=lo + span % (hi - lo))
    seen = [(team, ts) for team, ts, _ in _load(con, events) if ts < until]
    rows = _run(con, "retention", period, until)
    periods = [p.date().isoformat() for p in period_starts(SINCE, until, period)]
    by_cohort: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        assert r["value"] is not None and 0.0 <= r["value"] <= 1.0, r
        assert r["n"] >= 1
        if r["offset"] == 0:
            assert r["value"] == 1.0, r
        by_cohort[r["cohort"]].append(r["offset"])
    for cohort, offsets in by_cohort.items():
        assert sorted(offsets) == list(range(len(periods) - periods.index(cohort)))
    # and the cells themselves, counted here from the events
    first = {team: min(ts for t, ts in seen if t == team) for team, _ in seen}
    cohorts: dict[str, set[str]] = defaultdict(set)
    for team, ts in first.items():
        if ts >= SINCE:
            cohorts[period_floor(ts, period).date().isoformat()].add(team)
    active: dict[str, set[str]] = defaultdict(set)
    for team, ts in seen:
        active[period_floor(ts, period).date().isoformat()].add(team)
    assert set(by_cohort) == set(cohorts)
    for r in rows:
        members = cohorts[r["cohort"]]
        later = periods[periods.index(r["cohort"]) + r["offset"]]
        assert r["n"] == len(members)
        assert r["value"] == len(members & active[later]) / len(members)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(event, min_size=1, max_size=40),
    period=st.sampled_from(["day", "week", "month", "quarter"]),
    span=st.integers(0, 1000),
)
def test_lifecycle_states_add_up_to_active_units(
    con: Any, events: list[tuple[int, int, int, int]], period: str, span: int
) -> None:
    lo, hi = UNTILS[period]
    until = SINCE + timedelta(days=lo + span % (hi - lo))
    seen = [(team, ts) for team, ts, _ in _load(con, events) if ts < until]
    rows = _run(con, "lifecycle", period, until)
    active: dict[datetime, set[str]] = defaultdict(set)
    for team, ts in seen:
        active[period_floor(ts, period)].add(team)
    states: dict[tuple[str, str], float] = {(r["period_start"], r["state"]): r["value"] for r in rows}
    for p in period_starts(SINCE, until, period):
        key = p.date().isoformat()
        now, before = active[p], active[shift_period(p, period, -1)]
        assert states[(key, "new")] + states[(key, "returning")] + states[(key, "resurrecting")] == len(now)
        assert states[(key, "returning")] - states[(key, "dormant")] == len(before)
        assert states[(key, "dormant")] <= 0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(event, min_size=1, max_size=40),
    period=st.sampled_from(["day", "week", "month", "quarter"]),
    window_days=st.integers(1, 40),
    span=st.integers(0, 1000),
)
def test_funnel_values_never_increase_along_the_steps(
    con: Any, events: list[tuple[int, int, int, int]], period: str, window_days: int, span: int
) -> None:
    lo, hi = UNTILS[period]
    until = SINCE + timedelta(days=lo + span % (hi - lo))
    _load(con, events)
    cfg = {"adoption": {"activation_actions": ["first_pipeline"], "funnel_window": f"{window_days}d"}}
    rows = _run(con, "funnel", period, until, cfg)
    by_period: dict[str, list[tuple[int, float | None, int]]] = defaultdict(list)
    for r in rows:
        by_period[r["period_start"]].append((r["step_index"], r["value"], r["n"]))
    for steps in by_period.values():
        steps.sort()
        assert [s[0] for s in steps] == [0, 1, 2]
        values = [s[1] for s in steps]
        if steps[0][2] == 0:
            assert values == [None, None, None]
            continue
        shares = [v for v in values if v is not None]
        assert len(shares) == 3 and shares[0] == 1.0
        assert all(0.0 <= v <= 1.0 for v in shares)
        assert all(a >= b for a, b in pairwise(shares)), shares
