"""`northstar report`: the single-frame poster and its detail pages, as one offline HTML file (and PDF).

`build_report(con, settings)` gathers the numbers (`data`), lays out the poster (`poster`) and the detail
pages (`pages`) with Vega-Lite charts rendered to inline SVG (`charts`), and returns the HTML (`render`);
`write_report` writes it; `print_pdf` prints it with a headless browser (`pdf`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from northstar.config import Settings
from northstar.report.data import SETS, ReportData, ReportError, gather
from northstar.report.pdf import PdfError, find_browser, install_hint, print_pdf
from northstar.report.render import render_html

__all__ = [
    "DEFAULT_NAME",
    "SETS",
    "PdfError",
    "ReportData",
    "ReportError",
    "build_report",
    "find_browser",
    "gather",
    "install_hint",
    "print_pdf",
    "render_html",
    "write_report",
    "write_store_report",
]

DEFAULT_NAME = "northstar-report.html"


def build_report(
    con: Any, settings: Settings, *, since: datetime | None = None, until: datetime | None = None
) -> tuple[str, ReportData]:
    """The report's HTML and the data behind it, computed on the Ibis backend `con`."""
    data = gather(con, settings, since=since, until=until)
    return render_html(data), data


def write_report(
    con: Any, settings: Settings, out: Path, *, since: datetime | None = None, until: datetime | None = None
) -> ReportData:
    """Write the report to `out` (written aside, then moved in place) and return the data behind it."""
    html, data = build_report(con, settings, since=since, until=until)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return data


def write_store_report(db_path: Path, config_path: Path | None, out: Path) -> ReportData:
    """Write the report of the DuckDB store at `db_path` (opened read-only) with the config at `config_path`."""
    import ibis

    from northstar.config import load_config

    settings = load_config(config_path)
    con = ibis.duckdb.connect(str(db_path), read_only=True)
    try:
        return write_report(con, settings, out)
    finally:
        con.disconnect()
