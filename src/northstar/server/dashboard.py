"""`GET /`: the report, rendered live from the store (read scope), for people in a browser.

A browser cannot send a bearer header by itself, so `/` also takes the token from an HttpOnly, SameSite=Strict
cookie set by posting it to `/login` (a small form shown when the token is missing). With `northstar.report`
installed the page is the full report (poster and detail pages); without it, a plain summary of the check.
The page is cached for `CACHE_SECONDS`.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from northstar.server import auth
from northstar.server.read import ReadError, assessment_document, check_document
from northstar.server.state import ServerState

__all__ = ["CACHE_SECONDS", "COOKIE", "mount", "report_builder"]

CACHE_SECONDS = 60.0
COOKIE = "northstar_token"

_LOGIN = """<!doctype html><html><head><meta charset="utf-8"><title>northstar</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>northstar</h1><p>{message}</p>
<form method="post" action="/login"><label>Token with the <code>read</code> scope
<input name="token" type="password" autocomplete="off" style="width: 100%"></label>
<p><button type="submit">Open the dashboard</button></p></form></body></html>"""


def _summary_html(check: dict[str, Any], assessment: dict[str, Any]) -> str:
    """The fallback page when the report package is absent: North Star, KPIs and layers as tables."""
    esc = html.escape
    rows = []
    ns = check.get("north_star")
    if ns:
        rows.append(("North Star", ns["metric"], ns["current"]["value"], ns.get("target"), ns["status"]))
    rows += [
        ("input", i["metric"], i["current"]["value"], i.get("target"), i["status"]) for i in check.get("inputs", [])
    ]
    rows += [("KPI", k["metric"], k["current"]["value"], k.get("breach"), k["status"]) for k in check.get("kpis", [])]
    body = "".join(
        f"<tr><td>{esc(str(a))}</td><td>{esc(str(b))}</td><td>{esc(str(c))}</td><td>{esc(str(d))}</td>"
        f"<td>{esc(str(e))}</td></tr>"
        for a, b, c, d, e in rows
    )
    layers = f"declared layer {assessment.get('declared_layer')}, measured layer {assessment.get('measured_layer')}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>northstar</title></head>"
        "<body style='font-family: system-ui, sans-serif; margin: 2rem'>"
        f"<h1>{esc(str(assessment.get('platform') or 'northstar'))}</h1><p>{esc(layers)}; as of "
        f"{esc(str(check.get('as_of')))}</p><table border='1' cellpadding='6'><tr><th></th><th>metric</th>"
        f"<th>value</th><th>target / breach</th><th>status</th></tr>{body}</table></body></html>"
    )


def report_builder() -> Callable[..., tuple[str, Any]] | None:
    """`northstar.report.build_report` when the report package is installed."""
    try:
        from northstar.report import build_report
    except ImportError:
        return None
    return build_report


def mount(app: FastAPI, state: ServerState, require: Callable[[str], Any]) -> None:
    """Add `GET /` and `POST /login`."""
    lock = threading.Lock()
    cache: dict[str, Any] = {"at": -CACHE_SECONDS, "html": ""}

    def render() -> str:
        with lock:
            if time.monotonic() - cache["at"] < CACHE_SECONDS:
                return str(cache["html"])
            build_report = report_builder()
            if build_report is not None:
                with state.reader() as con:
                    page = str(build_report(con, state.settings)[0])
            else:
                try:
                    check = check_document(state)
                except ReadError as exc:
                    check = {"notes": [str(exc)]}
                page = _summary_html(check, assessment_document(state))
            cache.update(at=time.monotonic(), html=page)
            return page

    def token_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.cookies.get(COOKIE)

    def readable(token: str | None) -> bool:
        if not token:
            return False
        with state.cursor() as cur:
            scopes = auth.verify_token(cur, token)
        return scopes is not None and "read" in scopes

    @app.get("/", tags=["read"], response_class=HTMLResponse, responses={401: {"description": "A login form."}})
    def dashboard(request: Request) -> Response:
        """The report, live from the store (a bearer token, or the cookie set by `/login`, with read scope)."""
        if not readable(token_of(request)):
            return HTMLResponse(_LOGIN.format(message="Sign in with an API token."), status_code=401)
        return HTMLResponse(render())

    @app.post("/login", tags=["read"], include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        if not readable(token):
            return HTMLResponse(_LOGIN.format(message="That token is unknown, revoked or lacks the read scope."), 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response
