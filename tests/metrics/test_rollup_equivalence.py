"""The activity rollups change nothing: every adoption metric gives the same rows from the rollups (a window of
whole days) as from the raw events, on any data, for every period, breakdown and unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, catalog, compute
from northstar.metrics import run as run_module
from northstar.metrics.context import Context
from northstar.records import validate_record
from northstar.schema import rows_to_arrow

START = datetime(2025, 12, 1)
PEOPLE = {"u1": "a", "u2": "a", "u3": "b", "u4": "b", "u5": "c"}
SETTINGS = Settings.model_validate(
    {
        "privacy": {"min_group_size": 1},
        "adoption": {"activation_actions": ["first_pipeline"], "value_actions": ["deploy"]},
    }
)
ADOPTION = [n for n in catalog.names("adoption") if n not in ("models_total",)]

event = st.tuples(
    st.integers(0, 70 * 24 * 60 - 1),  # minutes after START: several events per day and unit
    st.sampled_from(sorted(PEOPLE)),
    st.sampled_from((None, "a", "b", "c")),  # the event's own team (None: from people)
    st.sampled_from(("tracking", "serving")),
    st.sampled_from(("run", "first_pipeline", "deploy", "feature_request")),
)


class RawContext(Context):
    """A context that never reads the rollups."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.whole_days = False


def _load(events: list[tuple[int, str, str | None, str, str]]) -> Any:
    records = {
        "people": [{"id": p, "team": t} for p, t in PEOPLE.items()],
        "teams": [{"id": t} for t in ("a", "b", "c")],
        "activity": [
            {"id": f"e{i}", "ts": START + timedelta(minutes=m), "actor": a, "team": team, "component": c, "action": x}
            for i, (m, a, team, c, x) in enumerate(events)
        ],
    }
    con = connect_duckdb()
    load_tables(con, {k: rows_to_arrow(k, [validate_record(k, r).model_dump() for r in v]) for k, v in records.items()})
    return con


@pytest.mark.slow
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(event, min_size=1, max_size=60),
    period=st.sampled_from(("day", "week", "month")),
    by=st.sampled_from((None, "team", "component")),
    unit=st.sampled_from(("team", "user")),
    since_days=st.integers(0, 40),
)
def test_rollups_and_raw_events_give_the_same_rows(
    events: list[tuple[int, str, str | None, str, str]], period: str, by: str | None, unit: str, since_days: int
) -> None:
    con = _load(events)
    since = START + timedelta(days=since_days)
    last = START + timedelta(minutes=max(e[0] for e in events))
    # a midnight, and the default (after the last event) when there are events after --since
    for until in (since + timedelta(days=21), None if last >= since else since + timedelta(days=1)):
        _same_both_ways(con, Query(period=period, by=by, unit=unit, since=since, until=until))  # type: ignore[arg-type]


def _same_both_ways(con: Any, query: Query) -> int:
    """Assert the metrics give the same rows and warnings from the rollups as from the raw events; return how
    many rows carry a non-zero value."""
    by, unit = query.by, query.unit
    names = [n for n in ADOPTION if by is None or by in catalog.get(n).dims]
    names = [n for n in names if not catalog.get(n).units or unit in catalog.get(n).units]
    fast = compute(con, names, query, SETTINGS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(run_module, "Context", RawContext)
        slow = compute(con, names, query, SETTINGS)
    assert fast.rows == slow.rows
    assert fast.warnings == slow.warnings
    return sum(1 for r in fast.rows if r["value"] not in (None, 0))


@pytest.mark.slow
@pytest.mark.parametrize("by", [None, "team", "component"])
@pytest.mark.parametrize("unit", ["team", "user"])
def test_rollups_and_raw_events_agree_on_a_rich_dataset(by: str | None, unit: str) -> None:
    """A seeded, busy dataset (400 events over 10 weeks, several per unit and day, both team sources), every
    period: the hypothesis test above starts from small examples, this one is always dense."""
    import random

    rnd = random.Random(7)
    people, teams = sorted(PEOPLE), (None, None, "a", "b", "c")
    comps, actions = ("tracking", "serving"), ("run", "run", "first_pipeline", "deploy", "feature_request")
    events = [
        (rnd.randrange(70 * 24 * 60), rnd.choice(people), rnd.choice(teams), rnd.choice(comps), rnd.choice(actions))
        for _ in range(400)
    ]
    con = _load(events)
    for period in ("day", "week", "month"):
        for since, until in ((START + timedelta(days=10), START + timedelta(days=50)), (START, None)):
            q = Query(period=period, by=by, unit=unit, since=since, until=until)  # type: ignore[arg-type]
            assert _same_both_ways(con, q) > 0


def test_the_raw_context_really_reads_raw_events() -> None:
    """Guard for the test above: the rollup path reads rollup tables, the raw path does not."""
    con = _load([(0, "u1", None, "tracking", "run")])
    q = Query(period="week", since=START, until=START + timedelta(days=7))
    fast = Context(con=con, settings=SETTINGS, query=q, window_start=START, window_end=q.until, whole_days=True)
    slow = RawContext(con=con, settings=SETTINGS, query=q, window_start=START, window_end=q.until, whole_days=True)
    import ibis

    assert "activity_person_days" in ibis.to_sql(fast.activity_days())
    assert "activity_person_days" not in ibis.to_sql(slow.activity_days())
