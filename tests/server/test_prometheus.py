"""/metrics: the check's North Star, inputs and KPIs as Prometheus gauges with labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

from northstar.config import parse_config
from tests.server.conftest import Api, activity

CONFIG = """
north_star: {metric: active_teams, target: 5}
inputs:
  - {metric: active_users, target: 10}
kpis:
  - {metric: active_teams, scope: {team: t1}, warn: 2, breach: 1, owner: platform}
"""

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(\{(?P<labels>.*)\})? (?P<value>\S+)$")


def _parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m["labels"] or ""))
        out.append((m["name"], labels, float(m["value"])))
    return out


def test_gauges(api: Api) -> None:
    api.state.settings = parse_config(CONFIG, Path("northstar.yaml"))
    rows = [activity(i) for i in range(60)]  # Jan 2026: teams t0..t2, 7 users
    assert api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest")).status_code == 200
    comp = [{"id": "pipelines", "layer": 3}]
    assert api.client.post("/v1/records/components", json=comp, headers=api.headers("ingest")).status_code == 200
    r = api.client.get("/metrics", headers=api.headers("read"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _parse(r.text)
    check = api.client.get("/v1/check", headers=api.headers("read")).json()

    def one(name: str, **labels: str) -> float:
        found = [v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
        assert len(found) == 1, (name, labels, samples)
        return found[0]

    assert one("northstar_north_star_value", metric="active_teams") == check["north_star"]["current"]["value"]
    assert one("northstar_north_star_target", metric="active_teams") == 5
    assert one("northstar_input_target", metric="active_users") == 10
    kpi = check["kpis"][0]
    assert (
        one("northstar_kpi_value", metric="active_teams", scope_team="t1", owner="platform") == kpi["current"]["value"]
    )
    assert one("northstar_kpi_breach", metric="active_teams") == 1
    assert one("northstar_kpi_status", metric="active_teams") == {"ok": 0, "warn": 1, "breach": 2}[kpi["status"]]
    assert one("northstar_records", kind="activity") == 60
    assert one("northstar_layer", which="declared") == 3
    assert one("northstar_layer", which="measured") == 3  # every active team used it
    json.dumps(samples)


def test_label_values_are_escaped() -> None:
    from northstar.server.prometheus import exposition

    check = {"kpis": [{"metric": "m", "scope": {"service": 'a"b\\c\nd'}, "current": {"value": 1.5}, "status": "ok"}]}
    text = exposition(check, {}, [])
    assert 'scope_service="a\\"b\\\\c\\nd"' in text
    assert _parse(text)[0][2] == 1.5
