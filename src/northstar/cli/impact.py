"""`northstar impact`: what a platform initiative changed, against doing nothing, by a date (DESIGN.md §4)."""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from northstar.cli import app
from northstar.cli._common import (
    DEFAULT_DB,
    ConfigOption,
    DbOption,
    Format,
    FormatOption,
    UserError,
    console,
    err_console,
    print_rows,
    to_json,
    user_errors,
)
from northstar.cli.metrics import Engine, Period, open_backend

if TYPE_CHECKING:
    from northstar.impact import ImpactResult, Interval


class _Scale(StrEnum):
    s = "s"
    m = "m"
    h = "h"
    d = "d"


_SECONDS = {_Scale.s: 1.0, _Scale.m: 60.0, _Scale.h: 3600.0, _Scale.d: 86400.0}


def _scale_for(value: float) -> _Scale:
    v = abs(value)
    if v >= 86_400:
        return _Scale.d
    if v >= 3_600:
        return _Scale.h
    if v >= 60:
        return _Scale.m
    return _Scale.s


def _number(value: float | None, unit: str, scale: _Scale | None = None) -> str:
    """A value in the outcome's unit, durations in one scale (so an effect and its interval read alike)."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "seconds":
        sc = scale or _scale_for(value)
        return f"{value / _SECONDS[sc]:.2f}{sc.value}"
    if unit == "ratio":
        return f"{value * 100:.2f} pts"
    return f"{value:.3g}"


def _with_interval(iv: Interval, unit: str) -> str:
    scale = _scale_for(iv.value) if iv.value is not None and unit == "seconds" else None
    text = _number(iv.value, unit, scale)
    if iv.low is None or iv.high is None:
        return f"{text} (no interval)"
    return f"{text} (95% CI {_number(iv.low, unit, scale)} to {_number(iv.high, unit, scale)})"


def _percent(iv: Interval) -> str:
    if iv.value is None:
        return "–"
    if iv.low is None or iv.high is None:
        return f"{iv.value:+.1%}"
    return f"{iv.value:+.1%} (95% CI {iv.low:+.1%} to {iv.high:+.1%})"


def _amount(iv: Interval, digits: int = 0) -> str:
    def one(x: float | None) -> str:
        return "–" if x is None else f"{x:,.{digits}f}"

    if iv.low is None or iv.high is None:
        return one(iv.value)
    return f"{one(iv.value)} (95% CI {one(iv.low)} to {one(iv.high)})"


def _print(line: str = "") -> None:
    console.print(line, highlight=False, soft_wrap=True)


def _print_result(r: ImpactResult) -> None:
    d = r.to_dict()
    unit = r.outcome.unit
    what = f"initiative {r.initiative!r}" if r.initiative else (r.component or "the rollout")
    window = d["window"]
    span = f"{window['first_period']} – {window['last_period']}" if window["first_period"] else "no data"
    _print(f"[bold]Impact of {what}[/] on [bold]{r.outcome.name}[/] ({r.period}ly, periods {span})")
    _print(f"  {r.outcome.question}  ({'lower' if r.outcome.direction == 'lower_is_better' else 'higher'} is better)")
    _print(f"  treatment: {r.treatment}")
    rows: list[tuple[str, str]] = []
    if r.reliable:
        rows.append(("verdict", "[green]ok[/]: enough treated and control teams, no pre-trend"))
        rows.append(("effect", f"{_with_interval(r.effect, unit)} per team and {r.period} (ATT)"))
        cf = _number(d["counterfactual_mean"], unit)
        rows.append(("relative", f"{_percent(r.relative)} of {cf}, the treated teams' value had nothing been done"))
    else:
        rows.append(("verdict", f"[bold red]not reliable[/]: {r.verdict}"))
        rows.append(("effect", f"not reliable ({r.verdict.split(':')[0]}); no effect is claimed"))
    controls = f"{d['control_teams']} controls ({d['never_treated_teams']} never treated, the rest not yet treated)"
    rows.append(("teams", f"{d['treated_teams']} treated, {controls}"))
    rows.append(("pre-trend", _pre_trend_line(r)))
    rows.extend(_money_rows(r))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
    if r.reliable:
        _print_series(r)
    else:
        _print("  (the counterfactual series is not shown: it rests on the effect, which is not reliable)")
    for w in r.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)


def _pre_trend_line(r: ImpactResult) -> str:
    p = r.did.placebo
    if r.pre_trend_passed is None:
        return "not checked: no pre-periods before the base window"
    word = "[green]passed[/]" if r.pre_trend_passed else "[bold red]failed[/]"
    return f"{word}: placebo effect before adoption {_with_interval(p, r.outcome.unit)}"


def _money_rows(r: ImpactResult) -> list[tuple[str, str]]:
    m = r.money
    by = f"by {r.by_date.isoformat()}" if r.by_date else "by the end of the data"
    units = f"{m.units:,.0f} outcome units (the metric's n) of treated teams after treatment"
    if m.hours_saved is None or m.hours_saved.value is None:
        return [("value", f"{units}; " + "; ".join(m.notes))]
    if not r.reliable:
        return [("value", f"{units}; value and ROI not reliable")]
    out = [("hours saved", f"{_amount(m.hours_saved)} h {by}, over {units}")]
    if m.value is not None:
        out.append(("value", f"{_amount(m.value)} at {m.hourly_cost:,.0f} per hour"))
    if m.roi is not None and m.roi.value is not None:
        roi = m.roi
        ci = f" (95% CI {roi.low:.2f} to {roi.high:.2f})" if roi.low is not None and roi.high is not None else ""
        out.append(("ROI", f"{roi.value:.2f}{ci} = (value − {m.platform_cost:,.0f}) ÷ {m.platform_cost:,.0f}"))
    for note in m.notes:
        out.append(("note", note))
    return out


def _print_series(r: ImpactResult) -> None:
    unit = r.outcome.unit
    table = Table(title="Adopting teams: observed vs if nothing had been done", title_justify="left")
    for col in ("period", "treated", "observed", "if nothing done", "effect", "95% CI"):
        table.add_column(col, justify="left" if col == "period" else "right")
    for row in r.counterfactual:
        if row["treated_teams"] == 0:
            continue
        eff = row["effect"]
        scale = _scale_for(eff) if eff is not None and unit == "seconds" else None
        low, high = row["effect_low"], row["effect_high"]
        ci = f"{_number(low, unit, scale)} to {_number(high, unit, scale)}" if low is not None else "–"
        table.add_row(
            str(row["period_start"]),
            f"{row['treated_teams']}/{row['teams']}",
            _number(row["observed"], unit),
            _number(row["counterfactual"], unit),
            _number(eff, unit, scale),
            ci,
        )
    console.print(table)


@app.command()
def impact(
    outcome: Annotated[
        str, typer.Option("--outcome", "-o", help="The outcome metric (per team), e.g. lead_time_for_changes.")
    ],
    component: Annotated[
        str | None, typer.Option("--component", "-c", help="Treatment: each team's first activity on this component.")
    ] = None,
    initiative: Annotated[
        str | None,
        typer.Option("--initiative", "-i", help="Treatment: an initiative of the config (component or rollout)."),
    ] = None,
    by_date: Annotated[
        str | None, typer.Option("--by-date", help="Use the data through this date (inclusive), YYYY-MM-DD.")
    ] = None,
    period: Annotated[Period, typer.Option("--period", "-p", help="The period grid of the panel.")] = Period.week,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap replicates (teams resampled).", min=50)
    ] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    base_periods: Annotated[
        int | None,
        typer.Option(
            "--base-periods", help="Periods before adoption averaged as the base (default: 4 weeks, 1 month).", min=1
        ),
    ] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="Compute on DuckDB (default) or Spark.")] = Engine.duckdb,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Estimate what an initiative changed in an outcome, against doing nothing, with its ROI.

    The treatment of a team is its first activity on `--component` (or the dates of an `--initiative`'s
    rollout in northstar.yaml). The outcome is `northstar metrics OUTCOME --by team --period P`. The effect is
    estimated by staggered difference-in-differences: for each adoption cohort and period, the change since
    the cohort's base window (the `--base-periods` periods before adoption) among its teams minus that change
    among teams not yet treated or never treated — never against teams already treated — averaged over cells
    weighted by treated teams (ATT); an adoption period that began before the adoption is partly treated and
    left out. Relative effect = ATT ÷ the treated teams' counterfactual mean after adoption. 95% intervals:
    cluster bootstrap over teams (`--bootstrap` replicates, `--seed`). Pre-trend check: the average placebo
    ATT over the (up to 8) periods before the base window; it fails when its interval excludes 0.

    Money, with `roi:` in the config: saved per unit = −ATT (lower is better) or +ATT; hours saved = saved per
    unit × hours per unit × units, where units = the metric's n (changes, deployments) of the treated teams
    from adoption to the date, and hours per unit = `roi.hours_per_unit[OUTCOME]` (for an outcome in seconds:
    engineer-hours per hour saved, default 1); value = hours saved × `roi.hourly_cost`;
    ROI = (value − `roi.platform_cost`) ÷ `roi.platform_cost`, each with the bootstrap interval.

    Honesty: fewer than 3 treated or 3 control teams, no pre-period, or a failed pre-trend check make the
    verdict "insufficient data: …" or "pre-trend detected: …"; the table then prints no effect, value or
    ROI (the JSON keeps the numbers with `"reliable": false`). Exit code 0 either way; 2 for a bad option.

    Example: `northstar impact --component golden-path --outcome lead_time_for_changes --by-date 2026-10-31`
    """
    from northstar.cli.config import load_settings
    from northstar.impact import ImpactError, estimate

    with user_errors():
        if (component is None) == (initiative is None):
            raise UserError("give --component C or --initiative NAME (one of them)")
        day = None
        if by_date is not None:
            try:
                day = date.fromisoformat(by_date)
            except ValueError:
                raise UserError(f"--by-date: {by_date!r} is not a date (YYYY-MM-DD)") from None
        settings = load_settings(config)
        busy = err_console.status("estimating the effect…") if fmt is Format.table else nullcontext()
        with open_backend(db, engine) as con, busy:
            try:
                result = estimate(
                    con,
                    outcome,
                    component=component,
                    initiative=initiative,
                    settings=settings,
                    by_date=day,
                    period=period.value,
                    bootstrap=bootstrap,
                    seed=seed,
                    base_periods=base_periods,
                )
            except ImpactError as exc:
                raise UserError(str(exc)) from None
    if fmt is Format.json:
        sys.stdout.write(to_json(result.to_dict()) + "\n")
    elif fmt is Format.csv:
        print_rows(result.counterfactual, fmt)
    else:
        _print_result(result)
