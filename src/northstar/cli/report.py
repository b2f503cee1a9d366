"""`northstar report`: the single-frame poster and its detail pages, as one offline HTML file (and PDF)."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from northstar.cli import app
from northstar.cli._common import DEFAULT_DB, ConfigOption, DbOption, UserError, console, err_console, fail, user_errors
from northstar.cli.metrics import open_backend


def _day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None
    return datetime(d.year, d.month, d.day)


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("northstar-report.html"),
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="Also print it to this PDF (needs Chromium or Chrome).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="Window start (inclusive), YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Window end (exclusive), YYYY-MM-DD.")] = None,
    browser: Annotated[
        str | None,
        typer.Option(
            "--browser", envvar="NORTHSTAR_BROWSER", help="The browser --pdf prints with (env NORTHSTAR_BROWSER)."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Write the single-frame poster and its detail pages: one HTML file that works offline.

    Page 1 is the poster, sized for one A3 landscape sheet: the five-layer stack (declared vs measured
    layer, each component's adoption), the North Star with its value, trend, target and status and its
    input metrics, the KPIs, OKRs and lint findings, and the four layers of the metrics sandwich (delivery
    with DORA bands, satisfaction, adoption and engagement, reliability with SLO error budgets), each metric
    with a sparkline. The detail pages show adoption per component, retention, the funnel, lifecycle, a
    per-team table (privacy rules applied), DORA trends with band thresholds, SLO burn-down, latency
    percentiles, NPS and SPACE, the feature store and the impact of a configured initiative.

    Styles, charts (Vega-Lite rendered to SVG) and data are inline: no request leaves the file, so it opens
    on an air-gapped machine and travels as an e-mail attachment. The numbers are those of
    `northstar metrics` and `northstar check` for the same window (embedded as JSON in the file).
    `--pdf` prints the same HTML with a headless Chromium, Chrome or Edge.

    Example: `northstar report --db northstar-demo/northstar.duckdb --config northstar-demo/northstar.yaml
    -o report.html --pdf report.pdf`
    """
    from northstar.cli.config import load_settings
    from northstar.report import PdfError, ReportError, print_pdf, write_report

    t0 = time.perf_counter()
    with user_errors():
        settings = load_settings(config)
        start, end = _day(since, "--since"), _day(until, "--until")
        with open_backend(db) as con, err_console.status("computing the report…"):
            try:
                data = write_report(con, settings, out, since=start, until=end)
            except ReportError as exc:
                raise UserError(str(exc), exc.details) from None
            except OSError as exc:
                raise UserError(f"cannot write {out}: {exc}") from None
    console.print(
        f"report  {out.resolve()}  ({data.window.since_text} – {data.window.last_day.isoformat()}, "
        f"{time.perf_counter() - t0:.1f} s)",
        highlight=False,
        soft_wrap=True,
    )
    if pdf is not None:
        try:
            with err_console.status("printing the PDF…"):
                path = print_pdf(out, pdf, browser=browser)
        except PdfError as exc:
            fail(f"{exc}. The HTML report is at {out} (any browser prints it: A3, landscape)", code=1)
        console.print(f"pdf     {path}", highlight=False, soft_wrap=True)
