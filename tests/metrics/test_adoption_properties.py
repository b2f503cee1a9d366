"""Laws the core adoption metrics obey on any data (DuckDB; the golden cases pin Spark to the same results)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, compute
from northstar.metrics.context import period_floor, period_starts, shift_period
from northstar.records import validate_record
from northstar.schema import rows_to_arrow

START = datetime(2025, 12, 1)
ACTORS = ("u1", "u2", "u3", "u4", "u5", "u6")
TEAM_OF = {"u1": "a", "u2": "a", "u3": "b", "u4": "b", "u5": "c", "u6": "d"}
SETTINGS = Settings.model_validate(
    {"privacy": {"min_group_size": 1}, "adoption": {"activation_actions": ["first_pipeline"]}}
)
EXAMPLES = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

event = st.tuples(
    st.integers(0, 120 * 24 - 1),  # hours after START
    st.sampled_from(ACTORS),
    st.sampled_from(("tracking", "serving")),
    st.sampled_from(("run", "first_pipeline", "deploy")),
)
periods = st.sampled_from(("day", "week", "month"))
units = st.sampled_from(("team", "user"))
# the window: --since somewhere in the data (possibly mid-period), a few weeks long
windows = st.tuples(st.integers(0, 80), st.integers(7, 40))


def _activity(
    events: list[tuple[int, str, str, str]], event_teams: list[str | None] | None = None
) -> list[dict[str, Any]]:
    """The events as activity records; `event_teams` gives each event its own `team` (None: none given)."""
    records = [
        {"id": f"e{i}", "ts": START + timedelta(hours=h), "actor": actor, "component": comp, "action": action}
        for i, (h, actor, comp, action) in enumerate(events)
    ]
    for r, team in zip(records, event_teams or [], strict=False):
        if team is not None:
            r["team"] = team
    return records


def _load(
    events: list[tuple[int, str, str, str]],
    teams: list[dict[str, Any]] | None = None,
    event_teams: list[str | None] | None = None,
) -> Any:
    """A DuckDB backend holding the people of TEAM_OF, the events (with their own teams) and the roster."""
    records = {
        "people": [{"id": a, "team": t} for a, t in TEAM_OF.items()],
        "activity": _activity(events, event_teams),
        "teams": teams or [],
    }
    con = connect_duckdb()
    load_tables(con, {k: rows_to_arrow(k, [validate_record(k, r).model_dump() for r in v]) for k, v in records.items()})
    return con


def _rows(con: Any, metric: str, query: Query) -> list[dict[str, Any]]:
    return compute(con, [metric], query, SETTINGS).rows


def _query(period: str, window: tuple[int, int], unit: str | None = None, by: str | None = None) -> Query:
    since = START + timedelta(days=window[0])
    return Query(period=period, unit=unit, by=by, since=since, until=since + timedelta(days=window[1]))  # type: ignore[arg-type]


@EXAMPLES
@given(st.lists(event, max_size=40), periods, windows, st.lists(st.integers(-30, 150), max_size=4))
def test_adoption_rate_is_a_share(events: list[Any], period: str, window: tuple[int, int], elig: list[int]) -> None:
    teams = [
        {"id": t, "eligible_from": None if d < 0 else date(2025, 12, 1) + timedelta(days=d)}
        for t, d in zip("abce", elig, strict=False)
    ]
    con = _load(events, teams)
    for by in (None, "component"):
        for r in _rows(con, "adoption_rate", _query(period, window, by=by)):
            assert r["value"] is None or 0.0 <= r["value"] <= 1.0
            assert (r["value"] is None) == (r["n"] == 0)


@EXAMPLES
@given(st.lists(event, max_size=40), periods, windows, units)
def test_activation_rate_is_a_share_of_the_newcomers(
    events: list[Any], period: str, window: tuple[int, int], unit: str
) -> None:
    q = _query(period, window, unit=unit)
    rows = _rows(_load(events), "activation_rate", q)
    for r in rows:
        assert r["value"] is None or 0.0 <= r["value"] <= 1.0
    # the cohorts partition the units whose first-ever activity falls in the window
    df = pd.DataFrame(_activity(events), columns=["ts", "actor"])
    df["u"] = df.actor if unit == "user" else df.actor.map(TEAM_OF)
    first = df[df.ts < q.until].groupby("u").ts.min()
    assert sum(r["n"] for r in rows) == int(((first >= q.since) & (first < q.until)).sum())


def _retained_share(events: list[Any], q: Query, unit: str) -> dict[str, tuple[int, float]]:
    """Independently, with pandas: per period, (previous-period actives, share of them active in this period)."""
    assert q.since is not None and q.until is not None
    df = pd.DataFrame(_activity(events), columns=["ts", "actor"])
    df["u"] = df.actor if unit == "user" else df.actor.map(TEAM_OF)
    out = {}
    for p in period_starts(q.since, q.until, q.period):
        prev = shift_period(p, q.period, -1)
        before = set(df[(df.ts >= prev) & (df.ts < p)].u)
        now = set(df[(df.ts >= max(p, q.since)) & (df.ts < min(shift_period(p, q.period), q.until))].u)
        if before:
            out[p.date().isoformat()] = (len(before), len(before & now) / len(before))
    return out


@EXAMPLES
@given(st.lists(event, max_size=40), periods, windows, units)
def test_churn_and_retention_add_up_to_one(events: list[Any], period: str, window: tuple[int, int], unit: str) -> None:
    q = _query(period, window, unit=unit)
    retained = _retained_share(events, q, unit)
    rows = _rows(_load(events), "churn_rate", q)
    assert len(rows) == len(period_starts(q.since or START, q.until or START, period))
    for r in rows:
        if r["period_start"] not in retained:
            assert r["value"] is None and r["n"] == 0
            continue
        n, share = retained[r["period_start"]]
        assert r["n"] == n
        assert r["value"] + share == pytest.approx(1.0, abs=1e-12)


@EXAMPLES
@given(st.lists(event, max_size=40), periods, windows, st.sampled_from((None, "team", "component")))
def test_users_total_never_decreases_and_covers_active_users(
    events: list[Any], period: str, window: tuple[int, int], by: str | None
) -> None:
    q = _query(period, window, by=by)
    con = _load(events)
    totals = _rows(con, "users_total", q)
    active = {(r["period_start"], r["group"]): r["value"] for r in _rows(con, "active_users", q)}
    last: dict[Any, int] = {}
    for r in sorted(totals, key=lambda r: r["period_start"]):
        assert r["value"] >= last.get(r["group"], 0)
        last[r["group"]] = r["value"]
        assert r["value"] >= active.get((r["period_start"], r["group"]), 0)


@EXAMPLES
@given(st.lists(event, min_size=1, max_size=40), periods, windows, units)
def test_stickiness_is_usage_frequency_over_the_days(
    events: list[Any], period: str, window: tuple[int, int], unit: str
) -> None:
    q = _query(period, window, unit=unit)
    assert q.since is not None and q.until is not None
    con = _load(events)
    freq = {r["period_start"]: r for r in _rows(con, "usage_frequency", q)}
    for r in _rows(con, "stickiness", q):
        f = freq[r["period_start"]]
        assert (r["value"] is None) == (f["value"] is None)
        if r["value"] is None:
            continue
        p = datetime.fromisoformat(r["period_start"])
        days = (min(shift_period(p, period), q.until) - max(p, period_floor(q.since, "day"))).days
        assert 0.0 < r["value"] <= 1.0
        assert r["value"] == pytest.approx(f["value"] / days, rel=1e-12)
        assert 1.0 <= f["value"] <= days


# an event's own team: none (the actor's, from people), the actor's own, or another team
team_choice = st.sampled_from((None, "own", "c"))
# events spread over every day of the week, dense enough that units share days (hours drawn as days and
# hours: hypothesis draws small numbers most)
spread_event = st.tuples(
    st.builds(lambda d, h: 24 * d + h, st.integers(0, 34), st.integers(0, 23)),
    st.sampled_from(ACTORS),
    st.sampled_from(("tracking", "serving")),
    st.sampled_from(("run", "first_pipeline", "deploy")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(spread_event, team_choice), min_size=8, max_size=60),
    st.sampled_from(("day", "week", "month", "quarter")),
    st.tuples(st.integers(0, 10), st.integers(7, 30)),
    units,
)
def test_usage_frequency_counts_each_active_day_once(
    events: list[Any], period: str, window: tuple[int, int], unit: str
) -> None:
    """The mean distinct active days per active unit, against a plain Python count: a day counts once for a
    unit however many events (with the team given, or resolved from `people` to the same team) it has."""
    q = _query(period, window, unit=unit, by="team")
    assert q.since is not None and q.until is not None
    evs = [e for e, _ in events]
    event_teams = [TEAM_OF[e[1]] if team == "own" else team for e, team in events]
    con = _load(evs, event_teams=event_teams)
    records = _activity(evs, event_teams)
    days: dict[tuple[str, str, str], set[date]] = {}
    for r in records:
        ts = r["ts"]
        if not q.since <= ts < q.until:
            continue
        team = r.get("team") or TEAM_OF[r["actor"]]
        u = r["actor"] if unit == "user" else team
        p = period_floor(ts, period).date().isoformat()
        days.setdefault((p, team, u), set()).add(ts.date())
    want: dict[tuple[str, str], list[int]] = {}
    for (p, team, _), d in days.items():
        want.setdefault((p, team), []).append(len(d))
    got = {(r["period_start"], r["group"]): r for r in _rows(con, "usage_frequency", q) if r["n"]}
    assert set(got) == set(want)
    for key, counts in want.items():
        assert got[key]["n"] == len(counts)
        assert got[key]["value"] == pytest.approx(sum(counts) / len(counts), rel=1e-12)
