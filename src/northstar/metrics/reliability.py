"""Reliability metrics (DESIGN.md §3, "Reliability"): is the infrastructure under the platform fast and up?

Traffic, errors, latency and utilisation come from `service_samples` (one row per service and interval,
placed in the period containing the interval's start `ts`); latency from the derived long table
`latency_buckets` (one row per cumulative Prometheus bucket of a sample) or, when the query window is whole
UTC days (`ctx.whole_days`), from its daily sums `latency_daily`: the percentiles and budget attainment only
ever read a period's histogram summed per bucket bound, and the sum of the days' sums is that sum. Incidents
come from `incidents`. SLOs live in `northstar.metrics.slo`.

Shared choices:
- `n` is the number of samples for throughput and utilisation metrics, the number of requests for error
  rate and availability, and the number of histogram observations for latency metrics.
- A period whose samples carry no requests (or no histogram observations) has a null ratio, never 0/0.
- A histogram's total is its `+Inf` bucket; a histogram without one is read as if its highest bucket held
  every observation (`latency_buckets` carries that implied `+Inf` bucket). So when a period mixes samples
  with and without `+Inf`, the summed `+Inf` bucket counts every sample's observations (before the implied
  bucket was derived, the samples without one were left out of the total). Samples of one service and period
  are expected to share bucket bounds (as Prometheus expects for `sum by (le)`); when they don't, the latency
  metrics warn (a missing `+Inf` is not a different layout).
- Durations are whole seconds (timestamps truncated to the second on every engine).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, once, period_starts, shift_period

__all__ = [
    "as_count",
    "empty_result",
    "epoch",
    "evaluation_instants",
    "group_key",
    "histogram_quantile",
    "latency_histograms",
    "ratio",
    "requests_under",
]

_INF = ibis.literal(float("inf"))


def _finite(le: ir.FloatingValue) -> ir.BooleanValue:
    # a comparison, not `isinf()`: ibis 12 compiles that to FALSE on PySpark
    return le < _INF


# -- shared helpers -------------------------------------------------------------------------------------
def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """`num ÷ den`, null when `den` is 0 (never a division by zero, on any engine)."""
    return (num.cast("float64") / den.cast("float64").nullif(0.0)).cast("float64")


def as_count(v: ir.NumericValue) -> ir.IntegerValue:
    """A float sum (requests, observations) as an int64 `n`."""
    return ibis.coalesce(v, 0).round().cast("int64")


def epoch(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole seconds since 1970 (DuckDB's epoch keeps fractions inside expressions, Spark's doesn't: truncate)."""
    return ts.truncate("s").epoch_seconds()


def group_key(group: ir.StringValue) -> ir.StringValue:
    """A join key for `group` that matches null with null (ids are never empty strings)."""
    return ibis.coalesce(group, "")


def evaluation_instants(ctx: Context) -> ir.Table:
    """One row per period of the query: `period_start`, `period_from`, `period_to`.

    [period_from, period_to) is the part of the period inside the query window; `period_to` is the instant a
    snapshot of the period is evaluated at (the period's end, or `--until` for the latest period).
    """
    starts = period_starts(ctx.window_start, ctx.window_end, ctx.period)
    rows: dict[str, list[datetime]] = {"period_start": [], "period_from": [], "period_to": []}
    for p in starts:
        rows["period_start"].append(p)
        rows["period_from"].append(max(p, ctx.window_start))
        rows["period_to"].append(min(shift_period(p, ctx.period), ctx.window_end))
    ts = pa.timestamp("us")
    t = ibis.memtable(pa.table({k: pa.array(v, type=ts) for k, v in rows.items()}))
    return t.select(**{k: t[k].cast("timestamp") for k in rows})


@once
def _samples(ctx: Context) -> ir.Table:
    s = ctx.in_window(ctx.table("service_samples"), "ts")
    return s.mutate(period_start=ctx.bucket(s.ts), group=ctx.group(s))


@once
def _buckets(ctx: Context) -> ir.Table:
    b = ctx.in_window(ctx.table("latency_buckets"), "ts")
    return b.mutate(period_start=ctx.bucket(b.ts), group=ctx.group(b))


def empty_result(ctx: Context, **extra: Any) -> ir.Table:
    """A result table with no rows (and the columns a result carries)."""
    s = ctx.table("service_samples").filter(ibis.literal(False))
    cols: dict[str, Any] = {
        "period_start": s.ts,
        "group": ibis.null().cast("string"),
        "value": ibis.null().cast("float64"),
        "n": ibis.literal(0).cast("int64"),
    }
    cols.update(extra)
    return s.select(**cols)


def histogram_quantile(b: ir.Table, q: float, keys: list[str], *, summed: bool = False) -> ir.Table:
    """Prometheus `histogram_quantile(q, sum by (le) (...))` per `keys` over the long bucket table `b`.

    Buckets are summed per `le` across samples; counts are made monotonic (cumulative max, as Prometheus
    does); total = the summed +Inf bucket (every histogram has one: `latency_buckets` adds it when a sample
    lacks it; the highest count otherwise); rank = q × total; the first finite bucket with count ≥ rank is
    interpolated linearly from its lower bound (the previous bound, 0 for the first bucket); a rank beyond
    every finite bucket returns the highest finite bound; no observations → null. Returns `keys`, `value`,
    `total`. With `summed`, `b` already has one row per `keys` and `le` (no sum needed).

    Without window functions (three aggregations, cheaper than the windows' sort): with monotonic counts the
    first bucket whose count reaches the rank is the lowest bound whose *summed* count does (a running max
    reaches the rank where a count first does), its monotonic count is its own (every count below it is
    under the rank), and the count before it is the largest count below it.
    """
    per_le = b.select(*keys, "le", c=b["count"]) if summed else b.group_by([*keys, "le"]).aggregate(c=b["count"].sum())
    none = ibis.null().cast("float64")
    is_finite = _finite(per_le.le)

    def joined(agg: ir.Table) -> ir.Table:
        # null-safe on every key (`group` is null without a breakdown)
        r = agg.rename({f"_r_{k}": k for k in keys})
        j = per_le.join(r, [per_le[k].identical_to(r[f"_r_{k}"]) for k in keys])
        return j.drop(*(f"_r_{k}" for k in keys))

    tot = per_le.group_by(keys).aggregate(total=per_le.c.max(), top=ibis.ifelse(is_finite, per_le.le, none).max())
    j = joined(tot)
    rank = j.total * q
    star = j.group_by(keys).aggregate(
        at=ibis.ifelse(_finite(j.le) & (j.c >= rank), j.le, none).min(), total=j.total.max(), top=j.top.max()
    )
    j = joined(star)
    below = j.le < j.at
    h = j.group_by(keys).aggregate(
        at=j.at.max(),
        c=ibis.ifelse(j.le == j.at, j.c, none).max(),
        prev_c=ibis.coalesce(ibis.ifelse(below, j.c, none).max(), 0.0),
        prev_le=ibis.ifelse(below, j.le, none).max(),
        total=j.total.max(),
        top=j.top.max(),
    )
    lower = ibis.coalesce(h.prev_le, 0.0)
    interp = lower + (h.at - lower) * ratio(h.total * q - h.prev_c, h.c - h.prev_c)
    # Prometheus: a first bucket with an upper bound ≤ 0 returns that bound
    hit = ibis.ifelse(h.prev_le.isnull() & (h.at <= 0), h.at, interp)
    value = ibis.ifelse(h.total > 0, ibis.coalesce(hit, h.top), ibis.null())
    return h.select(*keys, value=value, total=h.total)


def requests_under(b: ir.Table, threshold: ir.NumericValue | float) -> ir.Table:
    """Per histogram of the long bucket table `b`: observations ≤ `threshold` (`under`) and in all (`total`).

    `under` interpolates linearly within the bucket holding the threshold (from 0 below the first bucket);
    observations in the `+Inf` bucket never count as under a finite threshold. Interpolation is linear in the
    counts, so the sum over samples equals the interpolation of the summed histogram. Samples with no finite
    bucket are left out (where their observations fall is unknown). Relies on counts being cumulative (records
    are validated so). Keeps every other column of `b` (`sample_id`, `service`, `ts`, and any of `period_start`,
    `group`, …) as grouping keys.
    """
    keys = [c for c in b.columns if c not in ("le", "count")]
    h = b.mutate(thr=ibis.literal(threshold) if isinstance(threshold, float) else threshold)
    c, finite, none = h["count"], _finite(h.le), ibis.null().cast("float64")
    below = finite & (h.le < h.thr)
    holds = finite & (h.le >= h.thr)
    # counts are cumulative: the bucket below the threshold has the largest count under it, the bucket
    # holding it the smallest count at or over it (no window needed)
    g = h.group_by([*keys, "thr"]).aggregate(
        lo_le=ibis.ifelse(below, h.le, none).max(),
        lo_c=ibis.ifelse(below, c, none).max(),
        hi_le=ibis.ifelse(holds, h.le, none).min(),
        hi_c=ibis.ifelse(holds, c, none).min(),
        top=ibis.ifelse(finite, c, none).max(),
        total=c.max(),
    )
    g = g.filter(g.top.notnull())
    lower, under_lower = ibis.coalesce(g.lo_le, 0.0), ibis.coalesce(g.lo_c, 0.0)
    inside = under_lower + (g.hi_c - under_lower) * ratio(g.thr - lower, g.hi_le - lower)
    under = ibis.cases((g.hi_le.isnull(), g.top), (g.hi_le <= lower, g.hi_c), else_=inside)
    return g.select(*keys, under=under, total=g.total)


@once
def latency_histograms(ctx: Context) -> ir.Table:
    """The query window's histograms summed per period, service and bound: (`period_start`, `service`, `le`,
    `count`, `samples`, `group`), `samples` = the samples carrying the bound, one row per period, service and
    bound (`group` is the service or null: latency metrics break down by service only).

    From `latency_daily` when the window is whole days (the sum of the days' sums), from `latency_buckets`
    otherwise; the same sums either way (counts are integers in practice; otherwise equal up to the rounding of
    another order of addition). The latency metrics and their layout check all start from this one table, so
    the engine computes it once for both."""
    keys = ["period_start", "service", "le"]
    if ctx.whole_days:
        d = ctx.in_window(ctx.table("latency_daily"), "day")
        d = d.mutate(period_start=ctx.bucket(d.day))
        h = d.group_by(keys).aggregate(count=d["count"].sum(), samples=d.samples.sum())
    else:
        b = _buckets(ctx)
        h = b.group_by(keys).aggregate(count=b["count"].sum(), samples=b.count())
    return h.mutate(group=ctx.group(h))


def _layout_check(ctx: Context, h: ir.Table) -> None:
    """Warn when a service's samples in one period disagree on bucket bounds (summing by `le` then distorts).

    Every histogram has a `+Inf` bucket, so its samples are the period's histogram samples: the layouts agree
    when every bound has as many samples as the most frequent one (`+Inf`). `h` is `latency_histograms`."""
    g = h.group_by(["period_start", "service"]).aggregate(lo=h.samples.min(), hi=h.samples.max())
    bad = g.filter(g.lo != g.hi)
    ctx.check(
        bad.service.nunique(),
        "{n} service(s) have samples with different histogram bucket bounds in one period; percentiles sum "
        "buckets by bound (as Prometheus does) and may be distorted",
    )


# -- traffic and errors ---------------------------------------------------------------------------------
SERVICE = {
    "category": "reliability",
    "kind": "input",
    "layer": 0,
    "default_unit_of_analysis": "service",
    "dims": ("service",),
}


@metric(
    question="How much traffic do the platform's services serve?",
    unit="per_second",
    direction="higher_is_better",
    influence="partial",
    **SERVICE,
)
def throughput(ctx: Context) -> ir.Table:
    """Requests per second: Σ requests ÷ Σ interval_s over the samples whose interval starts in the period; n =
    samples."""
    g = _sample_stats(ctx)
    return g.select("period_start", "group", value=ratio(g.req, g.secs), n=g.samples.cast("int64"))


@once
def _sample_stats(ctx: Context) -> ir.Table:
    """Per (period, group), everything the sample metrics need, in one pass over the samples (so one shared
    part for the runner): samples, Σ requests, Σ errors, Σ interval_s; for cpu_util and memory_util the samples
    reporting it and its exact 95th percentile (nulls are ignored); for saturation the samples reporting
    either and how many of them are at or above `reliability.saturation_threshold`."""
    threshold = float(ctx.settings.reliability.saturation_threshold)
    s = _samples(ctx)
    reports = s.cpu_util.notnull() | s.memory_util.notnull()
    peak = ibis.coalesce(ibis.greatest(s.cpu_util, s.memory_util), s.cpu_util, s.memory_util)
    return s.group_by(["period_start", "group"]).aggregate(
        samples=s.count(),
        req=s.requests.sum(),
        err=s.errors.sum(),
        secs=s.interval_s.sum(),
        cpu_util_n=s.cpu_util.count(),
        cpu_util_p95=s.cpu_util.quantile(0.95),
        memory_util_n=s.memory_util.count(),
        memory_util_p95=s.memory_util.quantile(0.95),
        sat_n=s.count(where=reports),
        hot=ibis.ifelse(peak >= threshold, 1, 0).sum(where=reports),
    )


def _error_ratio(ctx: Context, good: bool) -> ir.Table:
    g = _sample_stats(ctx)
    rate = ratio(g.err, g.req)
    return g.select("period_start", "group", value=(1.0 - rate) if good else rate, n=as_count(g.req))


@metric(
    question="What share of requests fail?",
    unit="ratio",
    direction="lower_is_better",
    **SERVICE,
)
def error_rate(ctx: Context) -> ir.Table:
    """Σ errors ÷ Σ requests over the samples of the period (null when there were no requests); n = requests."""
    return _error_ratio(ctx, good=False)


@metric(
    question="Are the platform's services up?",
    unit="ratio",
    direction="higher_is_better",
    **{**SERVICE, "kind": "output"},
)
def availability(ctx: Context) -> ir.Table:
    """1 − Σ errors ÷ Σ requests over the samples of the period (null when there were no requests); n = requests."""
    return _error_ratio(ctx, good=True)


# -- latency --------------------------------------------------------------------------------------------
def _latency_quantile(ctx: Context, q: float) -> ir.Table:
    hists = latency_histograms(ctx)
    _layout_check(ctx, hists)
    h = histogram_quantile(hists, q, ["period_start", "group"], summed=ctx.by == "service")
    return h.select("period_start", "group", value=h.value.cast("float64"), n=as_count(h.total))


_LATENCY_DOC = (
    "{p} request latency: Prometheus histogram_quantile({q}) of the cumulative histograms summed per bucket "
    "bound over the period's samples (linear within the bucket, 0 as the first bucket's lower bound, the "
    "highest finite bound when the rank falls in +Inf); n = observations."
)


def _latency_metric(name: str, q: float, question: str) -> None:
    def compute(ctx: Context) -> ir.Table:
        return _latency_quantile(ctx, q)

    compute.__name__ = name
    compute.__doc__ = _LATENCY_DOC.format(p=name.rsplit("_", 1)[1].upper(), q=q)
    metric(
        name=name,
        question=question,
        unit="seconds",
        direction="lower_is_better",
        **SERVICE,
    )(compute)


_latency_metric("latency_p50", 0.5, "How long does a typical request take?")
_latency_metric("latency_p95", 0.95, "How long do the slowest 5% of requests take?")
_latency_metric("latency_p99", 0.99, "How long do the slowest 1% of requests take?")


@metric(
    question="What share of requests are served within the service's latency budget?",
    unit="ratio",
    direction="higher_is_better",
    **{**SERVICE, "kind": "output"},
)
def latency_budget_attainment(ctx: Context) -> ir.Table:
    """Share of requests at or under their service's `reliability.latency_budgets` budget, from the service's
    histograms summed per bucket bound over the period (linear within the bucket holding the budget, 0 as the first
    bucket's lower bound; +Inf observations are over it); services without a budget are left out; n =
    observations."""
    budgets: dict[str, float] = dict(ctx.settings.reliability.latency_budgets)
    if not budgets:
        return empty_result(ctx)
    hists = latency_histograms(ctx)
    _layout_check(ctx, hists)
    summed = hists.filter(hists.service.isin(list(budgets))).drop("samples")
    budget = ibis.cases(*((summed.service == svc, float(sec)) for svc, sec in budgets.items()))
    u = requests_under(summed, budget.cast("float64"))
    g = u.group_by(["period_start", "group"]).aggregate(under=u.under.sum(), total=u.total.sum())
    return g.select("period_start", "group", value=ratio(g.under, g.total), n=as_count(g.total))


# -- utilisation ---------------------------------------------------------------------------------------
def _p95(ctx: Context, col: str) -> ir.Table:
    """The 95th percentile of `col` per (period, group) with samples reporting it; n = those samples."""
    g = _sample_stats(ctx)
    g = g.filter(g[f"{col}_n"] > 0)
    return g.select("period_start", "group", value=g[f"{col}_p95"].cast("float64"), n=g[f"{col}_n"].cast("int64"))


@metric(
    question="How hard are the machines under the platform working?",
    unit="ratio",
    direction="lower_is_better",
    **SERVICE,
)
def cpu_utilization_p95(ctx: Context) -> ir.Table:
    """95th percentile (exact, continuous) of cpu_util over the period's samples that report it; n = samples."""
    return _p95(ctx, "cpu_util")


@metric(
    question="How close are the platform's services to running out of memory?",
    unit="ratio",
    direction="lower_is_better",
    **SERVICE,
)
def memory_utilization_p95(ctx: Context) -> ir.Table:
    """95th percentile (exact, continuous) of memory_util over the period's samples that report it; n = samples."""
    return _p95(ctx, "memory_util")


@metric(
    question="How often are the platform's services running hot?",
    unit="ratio",
    direction="lower_is_better",
    **SERVICE,
)
def saturation(ctx: Context) -> ir.Table:
    """Share of the period's samples with max(cpu_util, memory_util) ≥ `reliability.saturation_threshold` (default 0.8);
    samples reporting neither are left out; n = samples."""
    g = _sample_stats(ctx)
    g = g.filter(g.sat_n > 0)
    return g.select("period_start", "group", value=ratio(g.hot, g.sat_n), n=g.sat_n.cast("int64"))


# -- incidents ------------------------------------------------------------------------------------------
INCIDENTS = {**SERVICE, "dims": ("service", "team")}
UNSPECIFIED = "unspecified"
_NULL_STR = ibis.null().cast("string")


def _opened(ctx: Context) -> ir.Table:
    i = ctx.in_window(ctx.table("incidents"), "opened_at")
    return i.mutate(
        period_start=ctx.bucket(i.opened_at),
        group=ctx.group(i),
        severity=ibis.coalesce(i.severity, UNSPECIFIED),
    )


@metric(
    question="How often do things break?",
    unit="count",
    direction="lower_is_better",
    is_count=True,
    extra=("severity",),
    fill=lambda ctx: [{"severity": None}],
    **INCIDENTS,
)
def incident_count(ctx: Context) -> ir.Table:
    """Incidents opened in the period, one row per severity (a missing severity is `unspecified`) plus a total row with
    severity null; every group and severity seen in the window has a row in every period (0 when none)."""
    i = _opened(ctx)
    # the total is the row with a null severity
    both = ibis.union(
        i.select("period_start", "group", "severity"), i.select("period_start", "group", severity=_NULL_STR)
    )
    counts = both.group_by(["period_start", "group", "severity"]).aggregate(_n=both.count())
    counts = counts.select(_p="period_start", _k=group_key(counts.group), _s=group_key(counts.severity), _n="_n")
    # every (group, severity) seen in the window, and each group's total, get a row in every period
    seen = both.select("group", "severity").distinct()
    grid = evaluation_instants(ctx).select("period_start").cross_join(seen)
    j = grid.left_join(
        counts,
        [
            grid.period_start == counts._p,
            group_key(grid.group) == counts._k,
            group_key(grid.severity) == counts._s,
        ],
    )
    n = ibis.coalesce(j._n, 0)
    return j.select("period_start", "group", "severity", value=n.cast("float64"), n=n.cast("int64"))


def _incident_islands(ctx: Context) -> ir.Table:
    """Incident time per group as disjoint intervals (overlapping incidents merged); open ones end at --until."""
    i = ctx.before_end(ctx.table("incidents"), "opened_at")
    end = ibis.literal(ctx.window_end)
    i = i.select(
        _k=group_key(ctx.group(i)),
        id=i.id,
        start=i.opened_at,
        end=ibis.least(ibis.coalesce(i.resolved_at, end), end),
    )
    order = [i.start, i.end, i.id]
    cum = ibis.cumulative_window(group_by=i._k, order_by=order)
    i = i.mutate(reach=i.end.max().over(cum))
    w = ibis.window(group_by=i._k, order_by=[i.start, i.end, i.id])
    i = i.mutate(prev_reach=i.reach.lag().over(w))
    i = i.mutate(new=ibis.ifelse(i.prev_reach.isnull() | (i.start > i.prev_reach), 1, 0))
    i = i.mutate(island=i.new.sum().over(ibis.cumulative_window(group_by=i._k, order_by=[i.start, i.end, i.id])))
    return i.group_by(["_k", "island"]).aggregate(start=i.start.min(), end=i.end.max())


@metric(
    question="How long do services run between failures?",
    unit="seconds",
    direction="higher_is_better",
    **{**INCIDENTS, "kind": "output"},
)
def mtbf(ctx: Context) -> ir.Table:
    """Mean time between failures, seconds: (period time − incident time inside the period) ÷ incidents opened in the
    period; overlapping incidents count once (their union), an unresolved incident runs to --until, a period is clipped
    to the query window; null with no incident; n = incidents opened."""
    opened = _opened(ctx)
    counts = opened.group_by(["period_start", "group"]).aggregate(n=opened.count())
    periods = evaluation_instants(ctx)
    c = counts.join(periods, "period_start")
    c = c.mutate(_k=group_key(c.group))
    isl = _incident_islands(ctx).rename(_ik="_k")
    j = c.left_join(isl, [c._k == isl._ik, isl.start < c.period_to, isl.end > c.period_from])
    overlap = ibis.greatest(epoch(ibis.least(j.end, j.period_to)) - epoch(ibis.greatest(j.start, j.period_from)), 0)
    j = j.mutate(down=ibis.ifelse(j.start.isnull(), 0, overlap))
    g = j.group_by(["period_start", "group", "n", "period_from", "period_to"]).aggregate(down=j.down.sum())
    span = epoch(g.period_to) - epoch(g.period_from)
    return g.select("period_start", "group", value=ratio(span - g.down, g.n), n=g.n.cast("int64"))


# SLOs are their own module; importing it registers `slo` along with the metrics above.
from northstar.metrics import slo as _slo  # noqa: E402,F401
