"""`/`: the dashboard needs a read token (bearer or the cookie set by /login)."""

from __future__ import annotations

import pytest

from northstar.server import dashboard
from tests.server.conftest import Api, activity


def test_login_flow_and_fallback_page(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "report_builder", lambda: None)
    api.client.post("/v1/records/activity", json=[activity(i) for i in range(5)], headers=api.headers("ingest"))
    r = api.client.get("/")
    assert r.status_code == 401 and "<form" in r.text
    bad = api.client.post("/login", data={"token": api.tokens["ingest"]}, follow_redirects=False)
    assert bad.status_code == 401 and "lacks the read scope" in bad.text
    ok = api.client.post("/login", data={"token": api.tokens["read"]}, follow_redirects=False)
    assert ok.status_code == 303
    assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=strict" in ok.headers["set-cookie"].lower()
    page = api.client.get("/")  # the client keeps the cookie
    assert page.status_code == 200 and "measured layer" in page.text
    api.client.cookies.clear()
    assert api.client.get("/", headers=api.headers("read")).status_code == 200
    assert api.client.get("/", headers=api.headers("ingest")).status_code == 401


def test_the_report_is_built_on_a_read_cursor(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def build_report(con: object, settings: object) -> tuple[str, None]:
        seen.append(con.table("activity").count().execute())  # type: ignore[attr-defined]
        return "<html>the report</html>", None

    monkeypatch.setattr(dashboard, "report_builder", lambda: build_report)
    api.client.post("/v1/records/activity", json=[activity(i) for i in range(3)], headers=api.headers("ingest"))
    assert api.client.get("/", headers=api.headers("read")).text == "<html>the report</html>"
    assert api.client.get("/", headers=api.headers("read")).status_code == 200
    assert seen == [3]  # built once, then served from the cache
