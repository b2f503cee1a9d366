"""Prometheus connector against a real Prometheus scraping a tiny exporter the test runs on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.connectors.conftest import free_port, rows, sync, write_config

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs prometheus (apt-get install prometheus)"
)

STARTED = time.monotonic()


def metrics_text() -> str:
    """10 requests/s (1 of them a 500), 70% under 0.1 s, 90% under 0.5 s; 0.25 CPU-s/s."""
    n = int((time.monotonic() - STARTED) * 10)
    errors = n // 10
    lines = [
        "# TYPE http_requests_total counter",
        f'http_requests_total{{code="200"}} {n - errors}',
        f'http_requests_total{{code="500"}} {errors}',
        "# TYPE http_request_duration_seconds histogram",
        f'http_request_duration_seconds_bucket{{le="0.1"}} {n * 7 // 10}',
        f'http_request_duration_seconds_bucket{{le="0.5"}} {n * 9 // 10}',
        f'http_request_duration_seconds_bucket{{le="+Inf"}} {n}',
        f"http_request_duration_seconds_count {n}",
        "# TYPE process_cpu_seconds_total counter",
        f"process_cpu_seconds_total {(time.monotonic() - STARTED) * 0.25:.3f}",
    ]
    return "\n".join(lines) + "\n"


class Exporter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = metrics_text().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("prometheus")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    port = free_port()
    (folder / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: ranker\n    static_configs: [{{targets: ['127.0.0.1:{exporter.server_address[1]}']}}]\n"
    )
    log = (folder / "prometheus.log").open("w")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # ready, and a few scrapes in
            try:
                r = httpx.get(f"{url}/api/v1/query", params={"query": "count_over_time(up[1m])"}, timeout=2)
                result = r.json()["data"]["result"] if r.status_code == 200 else []
                if result and float(result[0]["value"][1]) >= 14:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prometheus did not start:\n{(folder / 'prometheus.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()
        exporter.shutdown()
        exporter.server_close()


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
        assert 40 <= requests <= 60  # 10/s over 5 s, as increase() extrapolates it
        assert errors / requests == pytest.approx(0.1, abs=0.03)
        b = json.loads(buckets)
        assert b["0.1"] / b["+Inf"] == pytest.approx(0.7, abs=0.03)
        assert b["0.5"] / b["+Inf"] == pytest.approx(0.9, abs=0.03)
        assert cpu == pytest.approx(0.25, abs=0.05)
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
