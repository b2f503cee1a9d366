"""`northstar assess` (Steps 1–3 of the framework) and `northstar check` (North Star, inputs, KPIs, OKRs, lint)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from northstar.cli import app
from northstar.cli._common import DEFAULT_DB, ConfigOption, DbOption, UserError, console, to_json, user_errors
from northstar.cli.metrics import Engine, open_backend

if TYPE_CHECKING:
    from northstar.framework import Assessment, CheckReport, LintReport


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")]
EngineOption = Annotated[Engine, typer.Option("--engine", help="Compute on DuckDB (default) or Spark.")]
_STATUS_STYLE = {
    "ok": "green",
    "warn": "yellow",
    "breach": "bold red",
    "no_data": "dim",
    "on track": "green",
    "achieved": "green",
    "met": "green",
    "off track": "red",
    "behind": "yellow",
    "missed": "red",
    "not met": "yellow",
}


def _day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None
    return datetime(d.year, d.month, d.day)


def fmt_value(value: float | None, unit: str | None) -> str:
    """A metric value for people: 97.31% for ratios, 1d 4h for durations, 12 for counts."""
    if value is None:
        return "–"
    if unit == "ratio":
        return f"{value:.2%}"
    if unit == "seconds":
        s = abs(value)
        sign = "-" if value < 0 else ""
        if s >= 86_400:
            return f"{sign}{s / 86_400:.1f}d"
        if s >= 3_600:
            return f"{sign}{s / 3_600:.1f}h"
        if s >= 60:
            return f"{sign}{s / 60:.1f}m"
        return f"{sign}{s * 1000:.0f}ms" if s < 1 else f"{sign}{s:.1f}s"
    if unit == "per_second":
        return f"{value:.3g}/s"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.3g}"


def _scope(scope: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scope.items())


def _styled(status: str) -> str:
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _print(*parts: str) -> None:
    console.print(*parts, highlight=False, soft_wrap=True)


# -- assess ---------------------------------------------------------------------------------------------


@app.command()
def assess(
    until: Annotated[
        str | None, typer.Option("--until", help="End (exclusive) of the window, YYYY-MM-DD; default: end of data.")
    ] = None,
    engine: EngineOption = Engine.duckdb,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    fmt: FormatOption = ReportFormat.table,
) -> None:
    """Assess the platform's stack layers: declared vs measured layer, Step 1B, behaviours, North Star candidates.

    Step 1(A): the five layers (0 hardware … 4 platform) with their components, from the store's
    `components` and the config's `components:` (the config wins for the same id). Step 1(B): each
    component's adoption over the last `assessment.window` (28d) of data, i.e. the share of active teams that
    used it; the measured layer is the highest layer with a component at or above
    `assessment.adoption_threshold` (layers 0–1 count when declared); "claimed vs actual" when the declared
    layer is higher; the metric categories measurable now; the Step 1B warning when the measured layer is ≤ 2.
    Step 2: the target behaviours of the config and their metrics. Step 3: North Star candidates.

    Example: `northstar assess --db northstar-demo/northstar.duckdb --config northstar-demo/northstar.yaml`
    """
    from northstar.cli.config import load_settings
    from northstar.framework import assess as run_assess

    with user_errors():
        settings = load_settings(config)
        end = _day(until, "--until")
        with open_backend(db, engine) as con:
            result = run_assess(con, settings, until=end)
    if fmt is ReportFormat.json:
        sys.stdout.write(to_json(result.to_dict()) + "\n")
        return
    _print_assessment(result)


def _print_assessment(a: Assessment) -> None:
    from northstar.framework.assess import LAYERS, layer_label

    window = f"{a.window_start:%Y-%m-%d} – {a.window_end:%Y-%m-%d}" if a.window_start and a.window_end else "no data"
    _print(f"[bold]{a.platform}[/]: stack assessment over {window} ({a.active_teams} active teams)")
    table = Table(title="Step 1: layers and components", title_justify="left")
    for col in ("layer", "component", "name", "teams", "share", "status"):
        table.add_column(col, justify="right" if col in ("teams", "share") else "left")
    for info in LAYERS:
        comps = [c for c in a.components if c.layer == info.layer]
        if not comps:
            table.add_row(f"{info.layer} {info.name}", "[dim]none declared[/]", "", "", "", "")
        for i, c in enumerate(comps):
            if info.layer <= 1:
                status = "[green]present[/] (0–1: declared)"
            else:
                status = "[green]adopted[/]" if c.adopted else f"[yellow]below {a.adoption_threshold:.0%}[/]"
            share = "" if c.share is None else f"{c.share:.0%}"
            label = f"{info.layer} {info.name}" if i == 0 else ""
            table.add_row(label, c.id, c.name or "", str(c.teams), share, status)
    console.print(table)
    _print(f"declared layer  {layer_label(a.declared_layer)}")
    _print(f"measured layer  [bold]{layer_label(a.measured_layer)}[/] (threshold {a.adoption_threshold:.0%} of teams)")
    if a.claimed_vs_actual:
        _print(f"[yellow]claimed vs actual:[/] {a.claimed_vs_actual}")
    measurable = ", ".join(a.measurable) or "unknown"
    _print(f"measurable now  {measurable}" + (f"  (not yet: {', '.join(a.unmeasurable)})" if a.unmeasurable else ""))
    if a.step1b_warning:
        _print(f"[bold yellow]warning:[/] {a.step1b_warning}")
    if a.behaviours:
        bt = Table(title="Step 2: target behaviours", title_justify="left")
        for col in ("behaviour", "from", "to", "metrics"):
            bt.add_column(col, overflow="fold")
        for b in a.behaviours:
            marks = []
            for m in b["metrics"]:
                mark = "?" if not m["known"] else ("✓" if m.get("measurable") else "✗")
                marks.append(f"{m['metric']} {mark}")
            bt.add_row(b["name"], b["baseline"] or "", b["desired"] or "", ", ".join(marks))
        console.print(bt)
        _print("[dim](✓ measurable at the measured layer, ✗ not yet, ? not in the catalog)[/]")
    if a.candidates:
        ct = Table(
            title=f"Step 3: North Star candidates for layer {layer_label(a.measured_layer)}", title_justify="left"
        )
        for col in ("metric", "question", "why it fits"):
            ct.add_column(col, overflow="fold")
        for cand in a.candidates:
            scope = f" ({_scope(cand['scope'])})" if cand["scope"] else ""
            ct.add_row(cand["metric"] + scope, cand["question"], cand["why"])
        console.print(ct)
    for note in a.notes:
        _print(f"[dim]note:[/] {note}")


# -- check -----------------------------------------------------------------------------------------------


@contextmanager
def _maybe_backend(db: Path, engine: Engine, required: bool) -> Iterator[Any]:
    if not required and not db.exists():
        yield None
        return
    with open_backend(db, engine) as con:
        yield con


@app.command()
def check(
    lint_only: Annotated[
        bool, typer.Option("--lint-only", help="Only lint the chosen metrics (NS001–NS006); the store is optional.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Lint errors also exit 1 (for CI).")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge as of this day (exclusive), YYYY-MM-DD; default: end of data.")
    ] = None,
    engine: EngineOption = Engine.duckdb,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    fmt: FormatOption = ReportFormat.table,
) -> None:
    """Check the North Star, its inputs, the KPIs and the OKRs against their targets, and lint the choices.

    North Star: value of the latest complete period, trend, distance to target, on track by the target date
    (the trend line extended to it). Inputs: value vs target. KPIs: ok / warn / breach against their
    thresholds, in the metric's direction. OKRs: each key result's progress from baseline to target vs the
    elapsed share of the quarter. Then the lint findings (NS001–NS006), grouped with everything else by the
    four layers of platform metrics (product, satisfaction, adoption, reliability).

    Exit codes, for cron and CI: 0 when every KPI is ok or warn; 1 when any KPI is breached (with `--strict`,
    also on a lint error); 2 for a config error (invalid northstar.yaml, unknown metric, impossible scope).
    `--lint-only`: 1 on lint errors, 0 on warnings only.

    Examples: `northstar check --config northstar.yaml || page-oncall`,
    `northstar check --lint-only --format json`
    """
    from northstar.cli.config import load_settings
    from northstar.framework import SeriesError, SeriesSource, assess, lint, run_check

    with user_errors():
        settings = load_settings(config)
        until = _day(as_of, "--as-of")
        with _maybe_backend(db, engine, required=not lint_only) as con:
            a = assess(con, settings, until=until) if con is not None else None
            day = until.date() if until else (a.as_of if a is not None and a.as_of else date.today())
            src = SeriesSource(con, settings, day, until=until) if con is not None else None
            report = lint(settings, assessment=a, series=src, as_of=day)
            if report.config_errors:
                _config_failure(report, settings.source, fmt)
            if lint_only:
                code = 1 if report.errors else 0
                if fmt is ReportFormat.json:
                    sys.stdout.write(to_json({"as_of": day, "lint": report.to_dict(), "exit_code": code}) + "\n")
                else:
                    _print_lint(report, settings.source)
                raise typer.Exit(code)
            assert src is not None
            try:
                result = run_check(settings, src, report)
            except SeriesError as exc:
                raise UserError(f"{settings.source or 'config'}: {exc}") from None
    code = result.exit_code(strict)
    if fmt is ReportFormat.json:
        sys.stdout.write(to_json(result.to_dict(strict)) + "\n")
    else:
        _print_check(result, settings.source, code)
    raise typer.Exit(code)


def _config_failure(report: LintReport, source: Path | None, fmt: ReportFormat) -> None:
    problems = [f.text(source) for f in report.config_errors]
    if fmt is ReportFormat.json:
        sys.stdout.write(to_json({"lint": report.to_dict(), "exit_code": 2}) + "\n")
    raise UserError(f"{len(problems)} problem(s) in the config; the first: {problems[0]}", problems)


def _print_lint(report: LintReport, source: Path | None) -> None:
    if not report.findings:
        _print("[green]lint: no findings[/] (NS001–NS006)")
    for f in report.findings:
        style = "bold red" if f.severity == "error" else "yellow"
        _print(f"[{style}]{f.severity}:[/] {f.text(source)}")
    for note in report.notes:
        _print(f"[dim]note:[/] {note}")
    if report.findings:
        _print(f"lint: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")


def _trend_text(tr: dict[str, Any], unit: str) -> str:
    values = [fmt_value(p["value"], unit) for p in tr["periods"][-4:]]
    arrow = {"up": "↗", "down": "↘", "flat": "→"}.get(tr["direction"] or "", "")
    mood = {True: " improving", False: " worsening"}.get(tr["improving"], "")
    return f"{' · '.join(values)} {arrow}{mood}".strip()


def _print_check(r: CheckReport, source: Path | None, code: int) -> None:
    _print(f"[bold]northstar check[/] as of {r.as_of:%Y-%m-%d}")
    ns = r.north_star
    if ns is not None:
        unit = ns["unit"]
        scope = f" ({_scope(ns['scope'])})" if ns["scope"] else ""
        _print(f"\n[bold]North Star[/]  {ns['metric']}{scope}: {ns['question']}")
        cur = ns["current"]
        _print(f"  current   {fmt_value(cur['value'], unit)}  ({ns['period']} of {cur['period_start']}, n={cur['n']})")
        _print(f"  trend     {_trend_text(ns['trend'], unit)}")
        if ns["target"] is not None:
            by = f" by {ns['by']}" if ns["by"] else ""
            dist = f", distance {fmt_value(ns['distance'], unit)}" if ns["distance"] is not None else ""
            proj = f", projected {fmt_value(ns['projected'], unit)}" if ns["projected"] is not None else ""
            _print(f"  target    {fmt_value(ns['target'], unit)}{by}{dist}{proj}")
        _print(f"  status    {_styled(ns['status'])}")
    if r.inputs:
        t = Table(title="Inputs", title_justify="left")
        for col in ("metric", "scope", "value", "trend", "target", "status"):
            t.add_column(col)
        for i in r.inputs:
            target = fmt_value(i["target"], i["unit"]) if i["target"] is not None else ""
            value = fmt_value(i["current"]["value"], i["unit"])
            trend = _trend_text(i["trend"], i["unit"])
            t.add_row(i["metric"], _scope(i["scope"]), value, trend, target, _styled(i["status"]))
        console.print(t)
    if r.kpis:
        t = Table(title="KPIs", title_justify="left")
        for col in ("metric", "scope", "period", "value", "warn", "breach", "status", "owner"):
            t.add_column(col)
        for k in r.kpis:
            u = k["unit"]
            t.add_row(
                k["metric"],
                _scope(k["scope"]),
                f"{k['period']} of {k['current']['period_start']}",
                fmt_value(k["current"]["value"], u),
                fmt_value(k["warn"], u),
                fmt_value(k["breach"], u),
                _styled(k["status"]),
                k["owner"] or "",
            )
        console.print(t)
    for o in r.okrs:
        progress = "–" if o["progress"] is None else f"{o['progress']:.0%}"
        t = Table(
            title=f"OKR {o['quarter']}: {o['objective']} — {progress} done, {o['expected_progress']:.0%} of the "
            "quarter elapsed",
            title_justify="left",
        )
        for col in ("key result", "scope", "baseline", "value", "target", "progress", "status"):
            t.add_column(col)
        for kr in o["key_results"]:
            u = kr["unit"]
            t.add_row(
                kr["metric"],
                _scope(kr["scope"]),
                fmt_value(kr["baseline"], u),
                fmt_value(kr["value"], u),
                fmt_value(kr["target"], u),
                "–" if kr["progress"] is None else f"{kr['progress']:.0%}",
                _styled(kr["status"]),
            )
        console.print(t)
    _print("\n[bold]The sandwich[/] (platform metrics by layer)")
    for layer in r.sandwich():
        items = ", ".join(f"{it['metric']} {_styled(it['status'])}" for it in layer["items"]) or "[dim]nothing[/]"
        _print(f"  {layer['title']}: {items}")
    _print("")
    _print_lint(r.lint, source)
    for note in r.notes:
        _print(f"[dim]note:[/] {note}")
    if code == 1 and r.breached:
        names = ", ".join(f"{k['where']} {k['metric']}" for k in r.breached)
        _print(f"[bold red]breached:[/] {names} (exit 1)")
    elif code == 1:
        _print("[bold red]lint errors with --strict[/] (exit 1)")
