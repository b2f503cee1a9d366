"""Laws of the reliability and satisfaction metrics, on random data (DuckDB only).

- availability + error_rate = 1 in every period with requests;
- latency_p50 ≤ latency_p95 ≤ latency_p99;
- the latency percentiles equal a brute-force Prometheus `histogram_quantile` written here in plain Python over
  the summed histograms, and latency budget attainment a brute-force interpolation; also with samples of one
  period disagreeing on bounds or without `+Inf` (read as if its highest bucket held every observation), where
  the layout warning names exactly the services whose samples disagree;
- the latency metrics and their warning are the same read from the daily rollup (`ctx.whole_days`) as from
  the per-sample buckets, for any window of whole days;
- nps ∈ [−100, 100].
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.config import Settings
from northstar.engines import connect_duckdb, load_tables
from northstar.metrics import Query, catalog, compute
from northstar.metrics.context import Context
from northstar.records import validate_record
from northstar.schema import rows_to_arrow

START = datetime(2026, 1, 5)
QUERY = Query(period="week", since=START, until=START + timedelta(days=14))
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROPS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def con() -> Any:
    return connect_duckdb()


def _load(con: Any, records: dict[str, list[dict[str, Any]]]) -> None:
    tables = {k: rows_to_arrow(k, [validate_record(k, r).model_dump() for r in rows]) for k, rows in records.items()}
    load_tables(con, tables)


def _values(con: Any, names: list[str], cfg: dict[str, Any] | None = None) -> dict[tuple[str, str], Any]:
    result = compute(con, names, QUERY, Settings.model_validate(cfg or {}))
    return {(r["metric"], r["period_start"]): r["value"] for r in result.rows}


# -- a brute-force Prometheus histogram_quantile -------------------------------------------------------
def prometheus_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """promql/quantile.go `bucketQuantile` for classic buckets (sorted by bound, +Inf last)."""
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return None
    fixed: list[tuple[float, float]] = []
    top = 0.0
    for le, c in buckets:  # ensureMonotonic
        top = max(top, c)
        fixed.append((le, top))
    total = fixed[-1][1]
    if total == 0:
        return None
    rank = q * total
    b = next((i for i in range(len(fixed) - 1) if fixed[i][1] >= rank), len(fixed) - 1)
    if b == len(fixed) - 1:
        return fixed[-2][0]
    if b == 0 and fixed[0][0] <= 0:
        return fixed[0][0]
    lower, below = (0.0, 0.0) if b == 0 else fixed[b - 1]
    upper, count = fixed[b]
    return lower + (upper - lower) * (rank - below) / (count - below)


@st.composite
def histograms(draw: Any) -> list[dict[str, float]]:
    """Samples of one period sharing a bucket layout; cumulative counts, some zero."""
    layout = sorted(draw(st.sets(st.sampled_from(BOUNDS), min_size=1, max_size=6)))
    samples = []
    for _ in range(draw(st.integers(1, 4))):
        steps = draw(st.lists(st.integers(0, 50), min_size=len(layout) + 1, max_size=len(layout) + 1))
        counts = [float(sum(steps[: i + 1])) for i in range(len(steps))]
        h = {repr(le): counts[i] for i, le in enumerate(layout)}
        h["+Inf"] = counts[-1]
        samples.append(h)
    return samples


def _samples(hists: list[dict[str, float]], services: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "id": f"s{i}",
            "service": f"svc{i % services}",
            "ts": (START + timedelta(hours=i)).isoformat(),
            "requests": h["+Inf"],
            "errors": 0,
            "latency_buckets": h,
        }
        for i, h in enumerate(hists)
    ]


def attainment(budget: float, buckets: list[tuple[float, float]]) -> float | None:
    """Share of observations ≤ `budget` in a summed histogram, linear within the bucket holding it."""
    total = buckets[-1][1]
    if total == 0:
        return None
    lower, below = 0.0, 0.0
    for le, c in buckets[:-1]:
        if budget <= le:
            return (below + (c - below) * (budget - lower) / (le - lower)) / total
        lower, below = le, c
    return below / total


def _summed(hists: list[dict[str, float]]) -> list[tuple[float, float]]:
    out: dict[float, float] = {}
    for h in hists:
        for key, c in h.items():
            le = math.inf if key == "+Inf" else float(key)
            out[le] = out.get(le, 0.0) + c
    return sorted(out.items())


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@PROPS
@given(hists=histograms(), budget=st.sampled_from(BOUNDS) | st.floats(0.001, 20.0))
def test_latency_percentiles_and_budget_match_brute_force(
    con: Any, hists: list[dict[str, float]], budget: float
) -> None:
    _load(con, {"service_samples": _samples(hists, services=1)})
    names = ["latency_p50", "latency_p95", "latency_p99", "latency_budget_attainment"]
    got = _values(con, names, {"reliability": {"latency_budgets": {"svc0": budget}}})
    summed = _summed(hists)
    week = START.date().isoformat()
    values = []
    for name, q in (("latency_p50", 0.5), ("latency_p95", 0.95), ("latency_p99", 0.99)):
        assert _close(got[(name, week)], prometheus_quantile(q, summed)), (name, summed)
        values.append(got[(name, week)])
    if values[0] is None:
        assert values == [None, None, None]
    else:
        assert values[0] <= values[1] + 1e-12 and values[1] <= values[2] + 1e-12
    assert _close(got[("latency_budget_attainment", week)], attainment(budget, summed)), (budget, summed)


@st.composite
def mixed_samples(draw: Any) -> list[dict[str, Any]]:
    """Samples over two weeks and two services drawing from a few bucket layouts, some without `+Inf`, some
    with an empty histogram or none."""
    layouts = draw(st.lists(st.sets(st.sampled_from(BOUNDS), min_size=0, max_size=4), min_size=1, max_size=3))
    out = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["hist", "hist", "hist", "no_inf", "empty", "none"]))
        layout = sorted(draw(st.sampled_from(layouts)))
        steps = draw(st.lists(st.integers(0, 50), min_size=len(layout) + 1, max_size=len(layout) + 1))
        counts = [float(sum(steps[: j + 1])) for j in range(len(steps))]
        h: dict[str, float] | None = {repr(le): counts[j] for j, le in enumerate(layout)}
        if kind == "hist":
            h = {**(h or {}), "+Inf": counts[-1]}
        elif kind == "empty":
            h = {}
        elif kind == "none":
            h = None
        out.append(
            {
                "id": f"s{i}",
                "service": draw(st.sampled_from(["svc0", "svc1"])),
                "ts": (START + timedelta(hours=draw(st.integers(0, 14 * 24 - 1)))).isoformat(),
                "requests": counts[-1],
                "errors": 0,
                "latency_buckets": h,
            }
        )
    return out


def _with_implied_inf(h: dict[str, float]) -> dict[str, float]:
    return h if not h or "+Inf" in h else {**h, "+Inf": max(h.values())}


def _week(ts: str) -> str:
    return (START + timedelta(days=7 * ((datetime.fromisoformat(ts) - START).days // 7))).date().isoformat()


@PROPS
@given(samples=mixed_samples())
def test_latency_percentiles_with_mixed_layouts_match_brute_force(con: Any, samples: list[dict[str, Any]]) -> None:
    _load(con, {"service_samples": samples})
    query = Query(period="week", by="service", since=QUERY.since, until=QUERY.until)
    result = compute(con, ["latency_p50", "latency_p95", "latency_p99"], query, Settings())
    got = {(r["metric"], r["period_start"], r["group"]): r for r in result.rows}
    cells: dict[tuple[str, str], list[dict[str, float]]] = {}
    for smp in samples:
        if smp["latency_buckets"]:
            cells.setdefault((_week(smp["ts"]), smp["service"]), []).append(_with_implied_inf(smp["latency_buckets"]))
    for (week, svc), hists in cells.items():
        summed = _summed(hists)
        for name, q in (("latency_p50", 0.5), ("latency_p95", 0.95), ("latency_p99", 0.99)):
            row = got[(name, week, svc)]
            assert _close(row["value"], prometheus_quantile(q, summed)), (name, week, svc, summed)
            assert row["n"] == round(summed[-1][1])
    bad = {svc for (_, svc), hists in cells.items() if len({frozenset(h) for h in hists}) > 1}
    layout = [w for w in result.warnings if "different histogram bucket bounds" in w]
    assert {w.split(": ", 1)[0] for w in layout} == ({"latency_p50", "latency_p95", "latency_p99"} if bad else set())
    assert all(f": {len(bad)} service(s)" in w for w in layout)


def _direct(con: Any, name: str, by: str | None, cfg: dict[str, Any], whole_days: bool) -> Any:
    """A metric's rows and data-warning counts, computed with `whole_days` forced either way."""
    query = Query(period="week", by=by, since=QUERY.since, until=QUERY.until)
    assert query.since is not None and query.until is not None
    ctx = Context(
        con=con,
        settings=Settings.model_validate(cfg),
        query=query,
        window_start=query.since,
        window_end=query.until,
        whole_days=whole_days,
    )
    df = con.execute(catalog.get(name).compute(ctx))
    rows = sorted(
        (str(r["period_start"]), str(r["group"]), None if r["value"] != r["value"] else r["value"], int(r["n"]))
        for r in df.to_dict("records")
    )
    return rows, [int(con.execute(scalar)) for scalar, _ in ctx.checks]


@PROPS
@given(
    samples=mixed_samples(),
    by=st.sampled_from([None, "service"]),
    budget=st.sampled_from(BOUNDS) | st.floats(0.001, 20.0),
)
def test_latency_metrics_read_the_rollup_as_the_buckets(
    con: Any, samples: list[dict[str, Any]], by: str | None, budget: float
) -> None:
    _load(con, {"service_samples": samples})
    cfg = {"reliability": {"latency_budgets": {"svc0": budget, "svc1": 2 * budget}}}
    for name in ("latency_p50", "latency_p95", "latency_p99", "latency_budget_attainment"):
        rolled, rolled_checks = _direct(con, name, by, cfg, whole_days=True)
        raw, raw_checks = _direct(con, name, by, cfg, whole_days=False)
        assert rolled_checks == raw_checks, name
        assert len(rolled) == len(raw), name
        for a, b in zip(rolled, raw, strict=True):
            assert a[:2] == b[:2] and a[3] == b[3] and _close(a[2], b[2]), (name, a, b)


traffic = st.lists(
    st.tuples(st.integers(0, 13 * 24), st.integers(0, 1000), st.integers(0, 1000)),
    min_size=1,
    max_size=20,
)


@PROPS
@given(rows=traffic)
def test_availability_plus_error_rate_is_one(con: Any, rows: list[tuple[int, int, int]]) -> None:
    samples = [
        {
            "id": f"s{i}",
            "service": "svc",
            "ts": (START + timedelta(hours=h)).isoformat(),
            "requests": max(a, b),
            "errors": min(a, b),
        }
        for i, (h, a, b) in enumerate(rows)
    ]
    _load(con, {"service_samples": samples})
    got = _values(con, ["availability", "error_rate"])
    for week in (START.date().isoformat(), (START + timedelta(days=7)).date().isoformat()):
        a, e = got[("availability", week)], got[("error_rate", week)]
        if a is None or e is None:
            assert a is None and e is None
        else:
            assert math.isclose(a + e, 1.0, rel_tol=1e-12)
            assert 0.0 <= e <= 1.0


@PROPS
@given(scores=st.lists(st.integers(0, 10), min_size=1, max_size=30), anonymous=st.booleans())
def test_nps_is_between_minus_100_and_100(con: Any, scores: list[int], anonymous: bool) -> None:
    responses = [
        {
            "id": f"r{i}",
            "ts": (START + timedelta(hours=i)).isoformat(),
            "survey": "s",
            "question": "nps",
            "scale": "nps",
            "score": s,
            "respondent": None if anonymous else f"p{i}",
        }
        for i, s in enumerate(scores)
    ]
    _load(con, {"survey_responses": responses})
    got = _values(con, ["nps"], {"privacy": {"min_group_size": 1}})
    value = got[("nps", START.date().isoformat())]
    assert value is not None and -100.0 <= value <= 100.0
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert math.isclose(value, 100.0 * (promoters - detractors) / len(scores), abs_tol=1e-9)
