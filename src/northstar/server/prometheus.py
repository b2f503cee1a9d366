"""`GET /metrics`: the North Star, its inputs, the KPIs and the OKRs as Prometheus gauges (read scope).

Each gauge carries the metric's name and its config scope as labels, so a Grafana panel can chart, e.g.,
`northstar_kpi_value{metric="availability", service="ranker"}` against `northstar_kpi_breach`. The values
are those of `northstar check` (the latest complete period); they are recomputed at most every
`CACHE_SECONDS`, because a scrape every 15 s should not recompute the scorecard every 15 s.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse

from northstar.server.read import ReadError, assessment_document, check_document
from northstar.server.state import ServerState

__all__ = ["CACHE_SECONDS", "exposition", "mount"]

CACHE_SECONDS = 30.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
KPI_STATUS = {"ok": 0, "warn": 1, "breach": 2}

_HELP = {
    "northstar_north_star_value": "The North Star metric, latest complete period (unit in the unit label).",
    "northstar_north_star_target": "The North Star's target.",
    "northstar_north_star_on_track": "1 when the North Star is projected to meet its target by its date, else 0.",
    "northstar_input_value": "An input metric of the North Star, latest complete period.",
    "northstar_input_target": "An input metric's target.",
    "northstar_kpi_value": "A KPI, latest complete period.",
    "northstar_kpi_warn": "A KPI's warn threshold.",
    "northstar_kpi_breach": "A KPI's breach threshold.",
    "northstar_kpi_status": "A KPI's status: 0 ok, 1 warn, 2 breach (absent without data).",
    "northstar_key_result_value": "An OKR key result's value in its quarter.",
    "northstar_key_result_target": "An OKR key result's target.",
    "northstar_key_result_progress": "An OKR key result's progress from baseline to target (1 = achieved).",
    "northstar_okr_expected_progress": "The elapsed share of an OKR's quarter.",
    "northstar_layer": "The platform's stack layer (0 hardware … 4 platform), declared and measured.",
    "northstar_records": "Rows per record kind in the store.",
    "northstar_lint_findings": "Lint findings (NS001–NS006) on the chosen metrics, by severity.",
}

_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def _label_name(key: str) -> str:
    name = _LABEL.sub("_", key)
    return name if name and not name[0].isdigit() else f"_{name}"


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value not in ("inf", "-inf")):
        return None
    if value in ("inf", "-inf"):
        return "+Inf" if value == "inf" else "-Inf"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(float(value))
    return None


class _Gauges:
    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[dict[str, str], str]]] = {}

    def add(self, name: str, value: object, labels: dict[str, Any]) -> None:
        text = _number(value)
        if text is not None:
            clean = {_label_name(k): str(v) for k, v in labels.items() if v is not None}
            self.samples.setdefault(name, []).append((clean, text))

    def render(self) -> str:
        lines: list[str] = []
        for name, samples in self.samples.items():
            lines.append(f"# HELP {name} {_HELP.get(name, name)}")
            lines.append(f"# TYPE {name} gauge")
            for labels, value in samples:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                lines.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")
        return "\n".join(lines) + "\n"


def _base(item: dict[str, Any]) -> dict[str, Any]:
    scope = item.get("scope") or {}
    return {"metric": item["metric"], **{f"scope_{k}": v for k, v in scope.items()}, "unit": item.get("unit")}


def exposition(check: dict[str, Any], assessment: dict[str, Any], counts: Iterable[tuple[str, int]]) -> str:
    """The text exposition format (0.0.4) of a check and an assessment document."""
    g = _Gauges()
    ns = check.get("north_star")
    if ns:
        labels = {**_base(ns), "period": ns.get("period")}
        g.add("northstar_north_star_value", ns["current"]["value"], labels)
        g.add("northstar_north_star_target", ns.get("target"), labels)
        g.add("northstar_north_star_on_track", ns.get("on_track"), labels)
    for item in check.get("inputs", []):
        labels = {**_base(item), "period": item.get("period")}
        g.add("northstar_input_value", item["current"]["value"], labels)
        g.add("northstar_input_target", item.get("target"), labels)
    for k in check.get("kpis", []):
        labels = {**_base(k), "period": k.get("period"), "owner": k.get("owner")}
        g.add("northstar_kpi_value", k["current"]["value"], labels)
        g.add("northstar_kpi_warn", k.get("warn"), labels)
        g.add("northstar_kpi_breach", k.get("breach"), labels)
        g.add("northstar_kpi_status", KPI_STATUS.get(k.get("status", "")), labels)
    for o in check.get("okrs", []):
        okr = {"objective": o["objective"], "quarter": o["quarter"]}
        g.add("northstar_okr_expected_progress", o.get("expected_progress"), okr)
        for kr in o.get("key_results", []):
            labels = {**okr, **_base(kr)}
            g.add("northstar_key_result_value", kr.get("value"), labels)
            g.add("northstar_key_result_target", kr.get("target"), labels)
            g.add("northstar_key_result_progress", kr.get("progress"), labels)
    for which in ("declared", "measured"):
        g.add("northstar_layer", assessment.get(f"{which}_layer"), {"which": which})
    lint = check.get("lint") or {}
    for severity in ("error", "warning"):
        findings = [f for f in lint.get("findings", []) if f.get("severity") == severity]
        g.add("northstar_lint_findings", len(findings), {"severity": severity})
    for kind, n in counts:
        g.add("northstar_records", n, {"kind": kind})
    return g.render()


def mount(app: FastAPI, state: ServerState, require: Callable[[str], Any]) -> None:
    """Add `GET /metrics` to the app."""
    lock = threading.Lock()
    cache: dict[str, Any] = {"at": -CACHE_SECONDS, "text": ""}

    def render() -> str:
        with lock:
            if time.monotonic() - cache["at"] < CACHE_SECONDS:
                return str(cache["text"])
            try:
                check = check_document(state)
            except ReadError as exc:  # a config the check cannot run: still expose the rest
                check = {"notes": [str(exc)]}
            assessment = assessment_document(state)
            from northstar.schema import ALL_TABLES
            from northstar.store import quote

            with state.cursor() as cur:
                sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {quote(t)}" for t in ALL_TABLES)
                counts = [(str(k), int(n)) for k, n in cur.execute(sql).fetchall()]
            cache.update(at=time.monotonic(), text=exposition(check, assessment, counts))
            return str(cache["text"])

    @app.get(
        "/metrics",
        tags=["read"],
        dependencies=[Depends(require("read"))],
        response_class=PlainTextResponse,
        responses={
            200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text exposition format."},
            401: {"description": "Missing, unknown or revoked token."},
            403: {"description": "The token lacks the read scope."},
        },
    )
    def prometheus_metrics() -> PlainTextResponse:
        """The North Star, inputs, KPIs and OKRs as Prometheus gauges (scrape with a `read` bearer token)."""
        return PlainTextResponse(render(), media_type=CONTENT_TYPE)
