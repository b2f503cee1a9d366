"""SLOs (DESIGN.md §3, `slo`): per configured objective, its SLI, error budget, burn rates and alert state.

Evaluation: one row per SLO per period, evaluated at the instant E = the period's end, or `--until` for the
latest period. A sample belongs to a window [E − w, E) when its interval start `ts` is in it.

- SLI window: the SLO's rolling `window` ending at E, or with `calendar: month` the calendar month containing
  the last instant before E, up to E.
- SLI: availability = 1 − Σ errors ÷ Σ requests; latency = share of histogram observations ≤ the SLO's
  `latency_threshold` (linear within the bucket, as `latency_budget_attainment`). Null without traffic.
- error_budget_remaining = 1 − (1 − sli) ÷ (1 − objective): negative once the budget is exhausted.
- burn rate over w = error ratio over [E − w, E) ÷ (1 − objective), for w = 1h, 6h, 1d, 3d (and 5m, 30m, 2h
  for the short alert windows).
- alert, the multiwindow table of the Google SRE workbook: `page` when burn > 14.4 over 1h and 5m, or > 6
  over 6h and 30m; else `ticket` when burn > 3 over 1d and 2h, or > 1 over 3d and 6h; else `ok`; null when
  the SLI is. The factors spend 2%, 5%, 10% and 10% of a 30-day budget in the long window; for an SLO window
  W the same shares of its budget give factor × W ÷ 30d (a calendar month uses that month's length). A
  window without traffic has a null burn rate, which never fires.

A latency SLO reads the per-sample buckets (`latency_buckets`) of its one service, never the daily rollup:
the short burn windows (5m … 6h) cut the day before every evaluation instant, so those days need samples
anyway, and a day's summed histogram gives the per-sample interpolation only when its samples share bounds.
Reading whole uncut days from `latency_daily` and the rest per sample was measured at 10M events (52 weekly
instants) and was no faster: the query is small next to Ibis building and compiling it.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from northstar.metrics.catalog import metric
from northstar.metrics.context import Context, period_floor, period_starts, shift_period
from northstar.metrics.reliability import as_count, empty_result, ratio, requests_under

# burn-rate windows: name → length
BURN_WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}
# (long window, short window, factor for a 30-day SLO window, alert)
ALERT_RULES: tuple[tuple[str, str, float, str], ...] = (
    ("1h", "5m", 14.4, "page"),
    ("6h", "30m", 6.0, "page"),
    ("1d", "2h", 3.0, "ticket"),
    ("3d", "6h", 1.0, "ticket"),
)
REFERENCE_WINDOW = timedelta(days=30)
_EPS = timedelta(microseconds=1)
EXTRA = ("slo", "sli", "error_budget_remaining", "burn_1h", "burn_6h", "burn_1d", "burn_3d", "alert")


def slo_window(slo: Any, end: datetime) -> tuple[datetime, timedelta]:
    """The start of the SLO's window ending at `end`, and the window's nominal length (for alert scaling)."""
    if slo.calendar == "month":
        start = period_floor(end - _EPS, "month")
        return start, shift_period(start, "month") - start
    window: timedelta = slo.window
    return end - window, window


def _instants(ctx: Context, slos: list[Any]) -> tuple[ir.Table, dict[str, datetime]]:
    """One row per SLO per period: the evaluation instant `end` and the start of every window ending there; and
    per SLO the earliest sample time any of its windows needs."""
    cols: dict[str, list[Any]] = {
        k: [] for k in ("slo", "objective", "scale", "period_start", "end", "lo_sli", "lo_min")
    }
    earliest: dict[str, datetime] = {}
    for name in BURN_WINDOWS:
        cols[f"lo_{name}"] = []
    for slo in slos:
        for p in period_starts(ctx.window_start, ctx.window_end, ctx.period):
            end = min(shift_period(p, ctx.period), ctx.window_end)
            lo, length = slo_window(slo, end)
            cols["slo"].append(slo.name)
            cols["objective"].append(float(slo.objective))
            cols["scale"].append(length / REFERENCE_WINDOW)
            cols["period_start"].append(p)
            cols["end"].append(end)
            cols["lo_sli"].append(lo)
            lo_min = min(lo, end - max(BURN_WINDOWS.values()))
            cols["lo_min"].append(lo_min)
            earliest[slo.name] = min(earliest.get(slo.name, lo_min), lo_min)
            for name, w in BURN_WINDOWS.items():
                cols[f"lo_{name}"].append(end - w)
    ts = pa.timestamp("us")
    types = {"slo": pa.string(), "objective": pa.float64(), "scale": pa.float64()}
    t = ibis.memtable(pa.table({k: pa.array(v, type=types.get(k, ts)) for k, v in cols.items()}))
    return t.select(**{k: t[k] if k in types else t[k].cast("timestamp") for k in cols}), earliest


def _events(ctx: Context, slo: Any, lo: datetime) -> ir.Table:
    """The SLO's service traffic since `lo` as (slo, ts, total, bad): requests/errors or observations/slow ones."""
    end = ibis.literal(ctx.window_end)
    if slo.indicator == "availability":
        s = ctx.table("service_samples")
        s = s.filter(s.service == slo.service, s.ts >= ibis.literal(lo), s.ts < end)
        return s.select(slo=ibis.literal(slo.name), ts=s.ts, total=s.requests, bad=s.errors)
    b = ctx.table("latency_buckets")
    b = b.filter(b.service == slo.service, b.ts >= ibis.literal(lo), b.ts < end)
    u = requests_under(b.select("sample_id", "ts", "le", "count"), float(slo.latency_threshold))
    return u.select(slo=ibis.literal(slo.name), ts=u.ts, total=u.total, bad=u.total - u.under)


def _sums(j: ir.Table, lo: ir.TimestampValue) -> tuple[ir.FloatingValue, ir.FloatingValue]:
    inside = j.ts >= lo
    zero = ibis.literal(0.0)
    return ibis.ifelse(inside, j.total, zero).sum(), ibis.ifelse(inside, j.bad, zero).sum()


@metric(
    category="reliability",
    question="Are we keeping our service-level objectives, and how fast are we spending the error budget?",
    unit="ratio",
    direction="higher_is_better",
    kind="output",
    layer=0,
    default_unit_of_analysis="service",
    dims=("service",),
    extra=EXTRA,
    gridded=False,
)
def slo(ctx: Context) -> ir.Table:
    """Per configured SLO and period, the SLI over the SLO's window ending at the period's end (or --until): 1 − errors
    ÷ requests, or the share of requests within the latency threshold; extras `error_budget_remaining` = 1 − (1 − sli) ÷
    (1 − objective), burn rates over 1h/6h/1d/3d = error ratio ÷ (1 − objective), and `alert` page/ticket/ok from the
    SRE multiwindow table with factors scaled by window ÷ 30d; n = requests (observations for a latency SLO) in the
    SLO window."""
    slos = list(ctx.settings.reliability.slos)
    if not slos:
        return empty_result(ctx, **{k: ibis.null().cast("float64") for k in EXTRA}).mutate(
            slo=ibis.null().cast("string"), alert=ibis.null().cast("string")
        )
    inst, earliest = _instants(ctx, slos)
    events = ibis.union(*(_events(ctx, s, earliest[s.name]) for s in slos))
    j = inst.join(events, [inst.slo == events.slo, events.ts >= inst.lo_min, events.ts < inst.end])
    aggs: dict[str, Any] = {}
    for name in ("sli", *BURN_WINDOWS):
        aggs[f"t_{name}"], aggs[f"b_{name}"] = _sums(j, j[f"lo_{name}"])
    a = j.group_by([j.slo, j.period_start]).aggregate(**aggs).rename(_slo="slo", _p="period_start")
    r = inst.left_join(a, [inst.slo == a._slo, inst.period_start == a._p])
    budget = 1.0 - r.objective
    burn = {name: ratio(r[f"b_{name}"], r[f"t_{name}"]) / budget for name in BURN_WINDOWS}
    sli = 1.0 - ratio(r.b_sli, r.t_sli)

    def fires(long: str, short: str, factor: float) -> ir.BooleanValue:
        limit = r.scale * factor
        return ibis.coalesce((burn[long] > limit) & (burn[short] > limit), False)

    def any_fires(level: str) -> ir.BooleanValue:
        return functools.reduce(operator.or_, (fires(lw, sw, f) for lw, sw, f, lv in ALERT_RULES if lv == level))

    alert = ibis.cases(
        (sli.isnull(), ibis.null().cast("string")),
        (any_fires("page"), "page"),
        (any_fires("ticket"), "ticket"),
        else_="ok",
    )
    svc = {s.name: s.service for s in slos}
    group = (
        ibis.cases(*((r.slo == name, service) for name, service in svc.items())).cast("string")
        if ctx.by == "service"
        else ibis.null().cast("string")
    )
    return r.select(
        period_start=r.period_start,
        group=group,
        value=sli,
        n=as_count(r.t_sli),
        slo=r.slo,
        sli=sli,
        error_budget_remaining=1.0 - (1.0 - sli) / budget,
        burn_1h=burn["1h"],
        burn_6h=burn["6h"],
        burn_1d=burn["1d"],
        burn_3d=burn["3d"],
        alert=alert,
    )
