"""Real servers for connector tests, started once per session on 127.0.0.1 and killed at teardown."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def _mlflow_command() -> str | None:
    """`mlflow` from NORTHSTAR_TEST_MLFLOW, next to this Python, or on PATH."""
    given = os.environ.get("NORTHSTAR_TEST_MLFLOW")
    if given:
        return given
    local = Path(sys.executable).with_name("mlflow")
    return str(local) if local.exists() else shutil.which("mlflow")


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = _mlflow_command()
    if exe is None:
        pytest.skip("needs the mlflow server: pip install -e '.[test]' (or set NORTHSTAR_TEST_MLFLOW)")
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", str(folder / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        _stop(proc)
        log.close()


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


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.skip("needs prometheus (apt-get install prometheus)")
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
        _stop(proc)
        log.close()
        exporter.shutdown()
        exporter.server_close()
