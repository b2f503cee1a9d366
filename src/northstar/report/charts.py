"""Charts: Vega-Lite specs rendered offline to inline SVG with vl-convert.

Every spec carries its data inline and is rendered with `allowed_base_urls=[]`, so vl-convert never fetches
anything. The palette is Okabe–Ito (safe for the common colour-vision deficiencies) and every multi-series
chart also varies the dash pattern, so series stay apart in greyscale print; sequential scales are
single-hue with monotonic lightness.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FONT",
    "PALETTE",
    "Chart",
    "bars",
    "heatmap",
    "lines",
    "render_svg",
    "sparkline",
    "stacked_bars",
]

FONT = "Helvetica Neue, Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif"
# Okabe & Ito (2008), without yellow (too light on white paper)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
DASHES = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 4], [12, 4], [4, 2, 1, 2])
INK = "#222222"
MUTED = "#767676"
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier, never fetched

CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "transparent",
    "padding": 4,
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 10,
        "titleFontSize": 10,
        "titleFontWeight": "normal",
        "titleColor": INK,
        "labelColor": INK,
        "gridColor": "#e3e3e3",
        "domainColor": MUTED,
        "tickColor": MUTED,
    },
    "legend": {"labelFontSize": 10, "titleFontSize": 10, "symbolStrokeWidth": 2, "orient": "bottom"},
    "range": {"category": list(PALETTE)},
    "line": {"strokeWidth": 2},
    "text": {"fontSize": 10},
}


@dataclass(frozen=True)
class Chart:
    """A rendered chart: its id, the spec it came from and the SVG markup."""

    id: str
    spec: Mapping[str, Any]
    svg: str


_counter = itertools.count(1)
_ID = re.compile(r'\bid="([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_HREF = re.compile(r'href="#([^"]+)"')


def _scope_ids(svg: str, prefix: str) -> str:
    """Prefix every id (and reference to one) so many SVGs can live in one HTML document."""
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    return _HREF.sub(lambda m: f'href="#{prefix}-{m.group(1)}"', svg)


def render_svg(spec: Mapping[str, Any], label: str, *, chart_id: str | None = None) -> Chart:
    """Render a Vega-Lite spec to inline SVG, offline (no base URL is allowed, so nothing is fetched)."""
    import vl_convert as vlc

    cid = chart_id or f"c{next(_counter)}"
    full = {"$schema": SCHEMA, "config": CONFIG, **spec}
    svg = vlc.vegalite_to_svg(full, allowed_base_urls=[])
    svg = _scope_ids(svg, cid)
    svg = re.sub(r"^<svg ", f'<svg role="img" aria-label="{_attr(label)}" ', svg, count=1)
    svg = re.sub(r'<rect width="[\d.]+" height="[\d.]+" fill="transparent"/>', "", svg, count=1)
    return Chart(cid, spec, svg)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _time_x(title: str | None = None, fmt: str = "%b %y") -> dict[str, Any]:
    return {
        "field": "t",
        "type": "temporal",
        "title": title,
        "scale": {"type": "utc"},
        "axis": {"format": fmt, "labelOverlap": True, "tickCount": 6, "grid": False},
    }


def sparkline(
    points: Sequence[tuple[str, float | None]],
    *,
    width: int = 110,
    height: int = 28,
    target: float | None = None,
    zero: bool = False,
) -> dict[str, Any] | None:
    """A small line of a metric's values over time (None with fewer than two values)."""
    values = [{"t": t, "y": v} for t, v in points if v is not None]
    if len(values) < 2:
        return None
    y: dict[str, Any] = {"field": "y", "type": "quantitative", "axis": None, "scale": {"zero": zero}}
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "color": INK, "strokeWidth": 1.5, "interpolate": "linear"}},
        {
            "transform": [{"window": [{"op": "rank", "as": "r"}], "sort": [{"field": "t", "order": "descending"}]}],
            "mark": {"type": "circle", "color": INK, "size": 18, "opacity": 1},
            "encoding": {"opacity": {"condition": {"test": "datum.r == 1", "value": 1}, "value": 0}},
        },
    ]
    if target is not None:
        layers.insert(
            0,
            {
                "data": {"values": [{"target": target}]},
                "mark": {"type": "rule", "color": PALETTE[0], "strokeDash": [3, 2], "strokeWidth": 1},
                "encoding": {"y": {"field": "target", "type": "quantitative"}},
            },
        )
    return {
        "width": width,
        "height": height,
        "padding": 2,
        "data": {"values": values},
        "encoding": {"x": {"field": "t", "type": "temporal", "scale": {"type": "utc"}, "axis": None}, "y": y},
        "layer": layers,
    }


def lines(
    rows: Sequence[Mapping[str, Any]],
    *,
    y_title: str,
    y_format: str | None = None,
    series_title: str | None = None,
    rules: Sequence[Mapping[str, Any]] = (),
    width: int = 420,
    height: int = 190,
    log: bool = False,
    zero: bool = True,
    points: bool = False,
    series_order: Sequence[str] | None = None,
    y_domain: Sequence[float] | None = None,
    clip: bool = False,
    legend: bool = True,
) -> dict[str, Any]:
    """Lines over time from rows `{t, y, series?}`; `rules` are labelled horizontal lines `{y, label}`."""
    has_series = any(r.get("series") is not None for r in rows)
    y: dict[str, Any] = {
        "field": "y",
        "type": "quantitative",
        "title": y_title,
        "scale": {"type": "log"} if log else {"zero": zero},
        "axis": {"format": y_format} if y_format else {},
    }
    if log:
        y["axis"].update(tickCount=5, gridOpacity=0.6)
    if y_domain is not None:
        y["scale"]["domain"] = list(y_domain)
    enc: dict[str, Any] = {"x": _time_x(), "y": y}
    mark: dict[str, Any] = {"type": "line", "point": {"size": 20, "filled": True} if points else False, "clip": clip}
    if has_series:
        order = list(series_order) if series_order else sorted({str(r["series"]) for r in rows})
        enc["color"] = {
            "field": "series",
            "type": "nominal",
            "title": series_title,
            "sort": order,
            "scale": {"domain": order, "range": list(PALETTE[: len(order)]) or list(PALETTE)},
        }
        enc["strokeDash"] = {
            "field": "series",
            "type": "nominal",
            "title": series_title,
            "sort": order,
            "scale": {"domain": order, "range": [DASHES[i % len(DASHES)] for i in range(len(order))]},
        }
        if not legend:
            enc["color"]["legend"] = enc["strokeDash"]["legend"] = None
    else:
        mark["color"] = PALETTE[0]
    layers: list[dict[str, Any]] = [{"mark": mark, "encoding": enc}]
    if rules:
        rule_enc = {"y": {"field": "y", "type": "quantitative"}}
        layers += [
            {
                "data": {"values": list(rules)},
                "mark": {"type": "rule", "color": MUTED, "strokeDash": [4, 3], "strokeWidth": 1},
                "encoding": rule_enc,
            },
            {
                "data": {"values": list(rules)},
                "mark": {"type": "text", "align": "right", "dy": -5, "color": MUTED, "fontSize": 9},
                "encoding": {**rule_enc, "x": {"value": width - 2}, "text": {"field": "label"}},
            },
        ]
    return {
        "width": width,
        "height": height,
        "data": {"values": [dict(r) for r in rows]},
        "layer": layers,
        "resolve": {"scale": {"y": "shared"}},
    }


def heatmap(
    rows: Sequence[Mapping[str, Any]],
    *,
    x_title: str,
    y_title: str,
    value_title: str,
    width: int = 420,
    height: int = 260,
) -> dict[str, Any]:
    """A cohort grid from rows `{row, col, value, label}` (single-hue blues, the share written in each cell)."""
    enc = {
        "x": {"field": "col", "type": "ordinal", "title": x_title, "axis": {"labelAngle": 0}},
        "y": {"field": "row", "type": "ordinal", "title": y_title, "sort": "ascending"},
    }
    return {
        "width": width,
        "height": height,
        "data": {"values": [dict(r) for r in rows]},
        "encoding": enc,
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 1},
                "encoding": {
                    "color": {
                        "field": "value",
                        "type": "quantitative",
                        "title": value_title,
                        "scale": {"scheme": "blues", "domain": [0, 1]},
                        "legend": {"format": ".0%", "orient": "right", "gradientLength": 120},
                    }
                },
            },
            {
                "mark": {"type": "text", "fontSize": 9},
                "encoding": {
                    "text": {"field": "label"},
                    "color": {"condition": {"test": "datum.value > 0.55", "value": "white"}, "value": INK},
                },
            },
        ],
    }


def bars(
    rows: Sequence[Mapping[str, Any]],
    *,
    x_title: str,
    x_format: str | None = None,
    width: int = 420,
    height: int = 150,
    domain: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Horizontal bars from rows `{label, value, text}` in the given order, the value written at the end."""
    order = [str(r["label"]) for r in rows]
    x: dict[str, Any] = {"field": "value", "type": "quantitative", "title": x_title}
    if x_format:
        x["axis"] = {"format": x_format}
    if domain is not None:
        x["scale"] = {"domain": list(domain)}
    return {
        "width": width,
        "height": height,
        "data": {"values": [dict(r) for r in rows]},
        "encoding": {"y": {"field": "label", "type": "nominal", "title": None, "sort": order}, "x": x},
        "layer": [
            {"mark": {"type": "bar", "color": PALETTE[0]}},
            {"mark": {"type": "text", "align": "left", "dx": 3, "color": INK}, "encoding": {"text": {"field": "text"}}},
        ],
    }


def stacked_bars(
    rows: Sequence[Mapping[str, Any]],
    *,
    y_title: str,
    order: Sequence[str],
    colors: Sequence[str] | None = None,
    width: int = 420,
    height: int = 190,
) -> dict[str, Any]:
    """Stacked bars over time from rows `{t, t2, y, series}`: a bar spans [t, t2); series stack in `order`,
    positive values upwards from 0 and negative ones downwards (stacked here, so ranged bars stack exactly)."""
    rng = list(colors) if colors else list(PALETTE[: len(order)])
    rank = {name: i for i, name in enumerate(order)}
    up: dict[str, float] = {}
    down: dict[str, float] = {}
    values = []
    for r in sorted(rows, key=lambda r: (r["t"], rank.get(str(r["series"]), len(rank)))):
        y = float(r["y"] or 0)
        if y == 0:
            continue
        acc = up if y > 0 else down
        base = acc.get(r["t"], 0.0)
        acc[r["t"]] = base + y
        values.append({**r, "y0": base, "y1": base + y})
    return {
        "width": width,
        "height": height,
        "data": {"values": values},
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": _time_x(),
            "x2": {"field": "t2"},
            "y": {"field": "y0", "type": "quantitative", "title": y_title},
            "y2": {"field": "y1"},
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "sort": list(order),
                "scale": {"domain": list(order), "range": rng},
            },
        },
    }
