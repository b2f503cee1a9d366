"""Laws of the delivery metrics on random deployments, changes and incidents (DuckDB)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, compute
from northstar.metrics.delivery import BAND_NAMES, BANDS, band, band_for
from northstar.records import validate_record
from northstar.schema import ibis_schema, rows_to_arrow

START = datetime(2026, 1, 5)
SPAN_S = 28 * 86400
SERVICES = ("ranker", "search", "feeds")
TEAMS = ("a", "b", None)
QUERY = {"since": START, "until": START + timedelta(days=28)}
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    c = connect_duckdb()
    load_tables(c, {})
    yield c


def _ts(offset_s: int) -> datetime:
    return START + timedelta(seconds=offset_s)


@st.composite
def delivery_data(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Random changes, deployments (mixed status/environment) and incidents over four weeks (and a bit before)."""
    n_changes = draw(st.integers(0, 8))
    changes = [
        {
            "id": f"c{k}",
            "service": draw(st.sampled_from(SERVICES)),
            "team": draw(st.sampled_from(TEAMS)),
            "created_at": _ts(draw(st.integers(-7 * 86400, SPAN_S))),
        }
        for k in range(n_changes)
    ]
    change_ids = [c["id"] for c in changes] + ["unknown"]
    deployments = []
    for k in range(draw(st.integers(0, 12))):
        finished = draw(st.integers(-3 * 86400, SPAN_S))
        deployments.append(
            {
                "id": f"d{k}",
                "service": draw(st.sampled_from(SERVICES)),
                "team": draw(st.sampled_from(TEAMS)),
                "environment": draw(st.sampled_from(["production", "production", "staging"])),
                "status": draw(st.sampled_from(["succeeded", "succeeded", "failed", "rolled_back"])),
                "started_at": _ts(finished - draw(st.integers(0, 3600))),
                "finished_at": _ts(finished),
                "change_ids": draw(st.lists(st.sampled_from(change_ids), max_size=3)),
                "manual_steps": draw(st.none() | st.integers(0, 5)),
            }
        )
    dep_ids = [d["id"] for d in deployments] + ["ghost"]
    incidents = []
    for k in range(draw(st.integers(0, 6))):
        opened = draw(st.integers(0, SPAN_S))
        resolved = draw(st.none() | st.integers(0, 5 * 86400))
        incidents.append(
            {
                "id": f"i{k}",
                "service": draw(st.sampled_from(SERVICES)),
                "team": draw(st.sampled_from(TEAMS)),
                "opened_at": _ts(opened),
                "resolved_at": None if resolved is None else _ts(opened + resolved),
                "caused_by_deployment": draw(st.none() | st.sampled_from(dep_ids)),
            }
        )
    return {"changes": changes, "deployments": deployments, "incidents": incidents}


def _run(con: Any, data: dict[str, list[dict[str, Any]]], metric: str, **query: Any) -> list[dict[str, Any]]:
    for kind, rows in data.items():  # only the three kinds these metrics read: faster than load_tables
        table = rows_to_arrow(kind, [validate_record(kind, r).model_dump() for r in rows])
        con.create_table(kind, ibis.memtable(table), schema=ibis_schema(kind), overwrite=True)
    return compute(con, [metric], Query(**{**QUERY, **query}), Settings()).rows


@FAST
@given(data=delivery_data(), period=st.sampled_from(["day", "week", "month"]))
def test_change_failure_rate_is_a_share(con: Any, data: dict[str, Any], period: str) -> None:
    for r in _run(con, data, "change_failure_rate", period=period, by="service"):
        if r["value"] is None:
            assert r["n"] == 0 and r["band"] is None
        else:
            assert 0.0 <= r["value"] <= 1.0
            assert r["band"] == band_for("change_failure_rate", r["value"])


@FAST
@given(data=delivery_data(), by=st.sampled_from([None, "team", "service"]))
def test_lead_time_is_never_negative(con: Any, data: dict[str, Any], by: str | None) -> None:
    for r in _run(con, data, "lead_time_for_changes", by=by):
        assert (r["value"] is None) == (r["n"] == 0)
        if r["value"] is not None:
            assert r["value"] >= 0.0
            assert r["band"] == band_for("lead_time", r["value"])


@FAST
@given(data=delivery_data(), period=st.sampled_from(["day", "week", "month"]))
def test_deployment_frequency_by_service_sums_to_the_total(con: Any, data: dict[str, Any], period: str) -> None:
    total = {r["period_start"]: r["value"] for r in _run(con, data, "deployment_frequency", period=period)}
    parts: dict[str, int] = {}
    for r in _run(con, data, "deployment_frequency", period=period, by="service"):
        parts[r["period_start"]] = parts.get(r["period_start"], 0) + r["value"]
    assert set(total) >= set(parts)
    for p, v in total.items():
        assert parts.get(p, 0) == v


@FAST
@given(data=delivery_data())
def test_recovery_medians_lie_within_their_samples(con: Any, data: dict[str, Any]) -> None:
    """mttr is bounded by the shortest and longest restore among incidents resolved in the window."""
    lo, hi = QUERY["since"], QUERY["until"]
    spans = [
        (i["resolved_at"] - i["opened_at"]).total_seconds()
        for i in data["incidents"]
        if i["resolved_at"] is not None and lo <= i["resolved_at"] < hi
    ]
    rows = [r for r in _run(con, data, "mttr", period="month") if r["value"] is not None]
    assert sum(r["n"] for r in rows) == len(spans)
    for r in rows:
        assert min(spans) <= r["value"] <= max(spans)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.sampled_from(sorted(BANDS)),
    value=st.one_of(
        st.floats(0, 4e6, allow_nan=False),
        st.sampled_from([t for _, limits in BANDS.values() for t in limits]),
    ),
)
def test_band_in_the_engine_matches_the_table(con: Any, key: str, value: float) -> None:
    got = con.execute(band(key, ibis.literal(value, type="float64")))
    assert got == band_for(key, value)
    assert got in BAND_NAMES


def test_band_boundaries() -> None:
    assert band_for("lead_time", 86400.0) == "high"
    assert band_for("lead_time", 86399.999) == "elite"
    assert band_for("change_failure_rate", 1 / 20) == "elite"
    assert band_for("change_failure_rate", 3 / 20) == "medium"
    assert band_for("change_failure_rate", 0.1500001) == "low"
    assert band_for("deployment_frequency", 7 / 31) == "medium"
    assert band_for("deployment_frequency", 0.0) == "low"
    assert band_for("recovery_time", 3600.0) == "high"
    assert band_for("recovery_time", math.nan) is None
    assert band_for("recovery_time", None) is None
