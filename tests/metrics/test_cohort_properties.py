"""Laws of the cohort metrics on random activity (DuckDB): retention, lifecycle and funnel.

- retention: offset 0 is 1, every cell is in [0, 1], each cohort's offsets run 0…(last window period − c),
  and every cell equals the share counted here from the events;
- lifecycle: new + returning + resurrecting = units active in the period, and returning − dormant = units
  active in the previous period (both counted here, independently, from the events);
- funnel: step 0 is 1 and the values never increase along the steps; and, for random step lists (action
  names, first_activity, activation, value), activation rules, teams from people and windows (whole days or
  not), every share equals the greedy walk done here event by event.
"""

from __future__ import annotations

import random
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


# -- funnel against a walk over the events ----------------------------------------------------------------
STEP_NAMES = ("first_activity", "activation", "value", "login", "first_pipeline", "deploy", "register_model")
FUNNEL_ACTIONS = ("login", "first_pipeline", "deploy", "register_model")
COMPONENTS = ("orch", "registry")
DEFAULT = ["first_activity", "activation", "value"]

funnel_event = st.tuples(
    st.integers(0, len(TEAMS) - 1),
    st.integers(-3, 30),  # days after --since (a few before: history)
    st.integers(0, 23),
    st.sampled_from((0, 30)),  # minutes: events of one team on one day, in order, and ties
    st.integers(0, len(FUNNEL_ACTIONS) - 1),
    st.integers(0, len(COMPONENTS) - 1),
    st.booleans(),  # the event carries its team (else it comes from people)
)
Event = tuple[int, int, int, int, int, int, bool]


def _walk(
    events: list[tuple[str, datetime, str, str]],
    steps: list[str],
    match: Any,
    window: timedelta,
    until: datetime,
    period: str,
) -> dict[str, list[int]]:
    """Per entry period: [entered, reached step 1, …] by the definition, one team at a time."""
    out: dict[str, list[int]] = {}
    for team in sorted({e[0] for e in events}):
        seen = sorted((ts, comp, action) for t, ts, comp, action in events if t == team and ts < until)
        starts = [ts for ts, comp, action in seen if match(steps[0], comp, action)]
        if not starts or not SINCE <= starts[0] < until:
            continue
        t = starts[0]
        row = out.setdefault(period_floor(t, period).date().isoformat(), [0] * len(steps))
        row[0] += 1
        for k in range(1, len(steps)):
            hits = [ts for ts, comp, action in seen if match(steps[k], comp, action) and t <= ts <= starts[0] + window]
            if not hits:
                break
            t = hits[0]
            row[k] += 1
    return out


def _check_funnel(
    con: Any,
    events: list[Event],
    steps: list[str],
    period: str,
    until: datetime,
    window: timedelta,
    configured: tuple[str, ...],
    declared: bool,
    value: tuple[str, ...],
) -> dict[str, list[int]]:
    rows, seen = [], []
    for i, (team, day, hour, minute, action, comp, own) in enumerate(events):
        ts = SINCE + timedelta(days=day, hours=hour, minutes=minute)
        rec = {"id": f"e{i}", "ts": ts, "actor": f"p-{TEAMS[team]}", "component": COMPONENTS[comp]}
        rec |= {"action": FUNNEL_ACTIONS[action], "team": TEAMS[team] if own else None}
        rows.append(validate_record("activity", rec).model_dump())
        seen.append((TEAMS[team], ts, COMPONENTS[comp], FUNNEL_ACTIONS[action]))
    people = [validate_record("people", {"id": f"p-{t}", "team": t}).model_dump() for t in TEAMS]
    registry = {"id": "registry", "layer": 3, "activation_actions": ["register_model"] if declared else None}
    comps = [validate_record("components", c).model_dump() for c in ({"id": "orch", "layer": 4}, registry)]
    tables = {"activity": rows, "people": people, "components": comps}
    load_tables(con, {kind: rows_to_arrow(kind, recs) for kind, recs in tables.items()})

    def match(step: str, comp: str, action: str) -> bool:
        if step == "first_activity":
            return True
        if step == "activation":
            if comp == "registry" and declared:
                return action == "register_model"
            return action in configured if configured else True
        if step == "value":
            return action in value
        return action == step

    adoption = {
        "funnel_steps": steps,
        "funnel_window": f"{int(window.total_seconds()) // 3600}h",
        "activation_actions": list(configured),
        "value_actions": list(value),
    }
    expected = _walk(seen, steps, match, window, until, period)
    got: dict[str, list[int]] = {}
    for r in _run(con, "funnel", period, until, {"adoption": adoption}):
        if r["n"]:
            got.setdefault(r["period_start"], [0] * len(steps))[r["step_index"]] = round(r["value"] * r["n"])
            assert r["value"] == pytest.approx(expected[r["period_start"]][r["step_index"]] / r["n"]), r
        else:
            assert r["value"] is None, r
    assert got == expected
    return expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(funnel_event, min_size=1, max_size=60),
    steps=st.one_of(st.just(DEFAULT), st.lists(st.sampled_from(STEP_NAMES), min_size=2, max_size=4)),
    period=st.sampled_from(["day", "week", "month"]),
    until_days=st.integers(3, 35),
    until_hour=st.sampled_from((0, 0, 13)),  # a midnight reads the rollups, 13:00 the raw events
    window_hours=st.sampled_from((1, 30, 24 * 7, 24 * 30)),
    configured=st.sampled_from(((), ("first_pipeline",), ("login", "deploy"))),
    declared=st.booleans(),  # registry declares its own activation action in the store
    value=st.sampled_from((("deploy",), ("deploy", "login"), ())),
)
def test_funnel_equals_the_greedy_walk(
    con: Any,
    events: list[Event],
    steps: list[str],
    period: str,
    until_days: int,
    until_hour: int,
    window_hours: int,
    configured: tuple[str, ...],
    declared: bool,
    value: tuple[str, ...],
) -> None:
    until = SINCE + timedelta(days=until_days, hours=until_hour)
    _check_funnel(con, events, steps, period, until, timedelta(hours=window_hours), configured, declared, value)


@pytest.mark.parametrize(
    "steps",
    [
        DEFAULT,
        ["login", "activation", "deploy"],
        ["activation", "value", "activation"],
        ["deploy", "first_activity", "register_model"],
        ["value", "login", "deploy", "first_pipeline"],
    ],
)
@pytest.mark.parametrize("until_hour", [0, 13])
def test_funnel_equals_the_greedy_walk_on_dense_data(con: Any, steps: list[str], until_hour: int) -> None:
    """Many events per team, so that later steps often come before earlier ones (units the first-ever events
    don't decide) and every path of the implementation is taken."""
    rng = random.Random(f"{steps}{until_hour}")
    events: list[Event] = [
        (
            rng.randrange(len(TEAMS)),
            rng.randrange(-3, 30),
            rng.randrange(24),
            rng.choice((0, 30)),
            rng.randrange(len(FUNNEL_ACTIONS)),
            rng.randrange(len(COMPONENTS)),
            rng.random() < 0.8,
        )
        for _ in range(400)
    ]
    starts = (-3, 0, 3, 8, 15)  # the teams' first days (team a's is history)
    events = [e for e in events if e[1] >= starts[e[0]]]
    until = SINCE + timedelta(days=28, hours=until_hour)
    expected = _check_funnel(
        con, events, steps, "week", until, timedelta(days=7), ("first_pipeline",), True, ("deploy",)
    )
    assert sum(row[0] for row in expected.values()) >= 3
