"""Prometheus connector against a real Prometheus scraping a tiny exporter the test runs on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.connectors.conftest import free_port, rows, sync, write_config

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs prometheus (apt-get install prometheus)"
)


def test_query_range_to_service_samples(prometheus_url: str, store_path: Path, tmp_path: Path) -> None:
    section = {"type": "prometheus", "url": prometheus_url, "step": "5s", "lag": "2s", "backfill": "1m",
               "services": {"ranker": "ranker-svc"}}  # fmt: skip
    config = write_config(tmp_path, {"prom": section})
    code, data, err = sync(config, store_path)
    assert code == 0, err
    first = next(r for r in data["connectors"] if r["kind"] == "service_samples")
    samples = rows(
        store_path,
        "SELECT service, interval_s, requests, errors, latency_buckets, cpu_util, ts FROM service_samples ORDER BY ts",
    )
    full = [s for s in samples if s[2] >= 30]  # steps fully inside the scraped span
    assert first["inserted"] == len(samples) and len(full) >= 1
    for service, interval, requests, errors, buckets, cpu, ts in full:
        assert service == "ranker-svc" and interval == 5
        # 10/s over 5 s = 50, as increase() extrapolates it; scrapes run late on a loaded machine (33 seen)
        assert 25 <= requests <= 75
        assert errors / requests == pytest.approx(0.1, abs=0.03)
        b = json.loads(buckets)
        assert b["0.1"] / b["+Inf"] == pytest.approx(0.7, abs=0.03)
        assert b["0.5"] / b["+Inf"] == pytest.approx(0.9, abs=0.03)
        # 0.25 CPU-s per second; rate() over a 5 s step moves with late scrapes too (0.19 seen at load 4)
        assert cpu == pytest.approx(0.25, abs=0.1)
        assert ts.second % 5 == 0
    assert rows(store_path, "SELECT count(*) FROM latency_buckets") == [(3 * len(samples),)]

    time.sleep(6)
    code, data, _ = sync(config, store_path)  # only the steps after the first sync's end: nothing refetched
    second = next(r for r in data["connectors"] if r["kind"] == "service_samples")
    assert second["inserted"] >= 1 and second["updated"] == 0 and second["unchanged"] == 0
    assert rows(store_path, "SELECT count(*) FROM service_samples") == [(len(samples) + second["inserted"],)]


def test_bad_query_and_unreachable_server(prometheus_url: str, store_path: Path, tmp_path: Path) -> None:
    bad = {"type": "prometheus", "url": prometheus_url, "queries": {"requests": "sum by ($label) (rate(x[5m]"}}
    down = {"type": "prometheus", "url": f"http://127.0.0.1:{free_port()}"}
    code, _, err = sync(write_config(tmp_path, {"prom": bad, "down": down}), store_path)
    assert code == 1
    assert "prom: Prometheus rejected the query" in err and "down: cannot reach Prometheus at" in err
    assert rows(store_path, "SELECT count(*) FROM service_samples") == [(0,)]
