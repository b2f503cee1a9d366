"""Render the report to one self-contained HTML file (styles, charts and data inline; nothing is fetched)."""

from __future__ import annotations

import json
import time
from typing import Any

from markupsafe import Markup

from northstar import __version__
from northstar.report.data import SETS, ReportData
from northstar.report.fmt import fmt_date
from northstar.report.pages import impact_line, pages
from northstar.report.poster import poster
from northstar.report.view import Numbers

__all__ = ["render_html"]


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("northstar.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["svg"] = lambda chart: Markup(chart.svg) if chart is not None else ""
    return env


def _json_block(obj: Any) -> Markup:
    """JSON safe inside a <script type="application/json"> element."""
    text = json.dumps(obj, ensure_ascii=False, default=str, allow_nan=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def render_html(data: ReportData) -> str:
    """The report as one HTML document: the poster first, then the detail pages."""
    t0 = time.perf_counter()
    numbers = Numbers()
    w = data.window
    context = {
        "platform": data.platform,
        "since": fmt_date(data.window.since),
        "until": fmt_date(data.window.last_day),
        "as_of": fmt_date(data.check.as_of),
        "generated": data.generated_at.strftime("%Y-%m-%d %H:%M"),
        "version": __version__,
        "poster": poster(data, numbers),
        "pages": pages(data, numbers),
        "impact": impact_line(data),
        "reproduce": f"northstar metrics --period week --since {w.since_text} --until {w.until_text}",
        "warnings": data.warnings,
    }
    data.timings["charts"] = time.perf_counter() - t0
    embedded: dict[str, Any] = {
        "platform": data.platform,
        "window": {"since": data.window.since_text, "until": data.window.until_text},
        "as_of": data.check.as_of.isoformat(),
        "sets": {s.key: {"args": s.cli_args(data.window)} for s in SETS},
        "numbers": numbers.items,
        "timings": {k: round(v, 3) for k, v in data.timings.items()},
    }
    html: str = _environment().get_template("report.html.j2").render(**context, data_json=_json_block(embedded))
    return html
