"""A real `northstar serve` in a subprocess on loopback, always killed at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start the server and wait (≤ 60 s) until /healthz answers."""
    env = {**os.environ, "NORTHSTAR_CONFIG": ""}
    cmd = [sys.executable, "-m", "northstar", "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"northstar serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(proc, hard=True)
    raise RuntimeError("northstar serve did not become ready in 60 s")


def stop(proc: subprocess.Popen[bytes], *, hard: bool = False) -> None:
    """SIGTERM (graceful) or SIGKILL, then wait."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def serving(db: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start(db, port, log)
    try:
        yield proc
    finally:
        stop(proc)
