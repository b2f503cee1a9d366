"""The report is tested on the demo organisation: one demo store and one report for the whole session."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("NORTHSTAR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Built:
    """The demo report: its file, the data behind it, the embedded numbers and what it cost."""

    demo: Any  # northstar.demo.DemoResult
    path: Path
    html: str
    data: Any  # northstar.report.ReportData
    embedded: dict[str, Any]
    cpu: float
    wall: float


def embedded_json(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="northstar-data">(.*?)</script>', html, re.S)
    assert m, "the report embeds its numbers as JSON"
    loaded: dict[str, Any] = json.loads(m.group(1))
    return loaded


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from northstar.demo import run_demo

    return run_demo(7, out=tmp_path_factory.mktemp("report-demo"))


@pytest.fixture(scope="session")
def built(demo: Any) -> Built:
    from northstar.report import DEFAULT_NAME, write_store_report

    path = demo.out / DEFAULT_NAME
    cpu, wall = _cpu_seconds(), time.perf_counter()
    data = write_store_report(demo.db_path, demo.config_path, path)
    cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
    html = path.read_text(encoding="utf-8")
    return Built(demo, path, html, data, embedded_json(html), cpu, wall)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`): fails in CI when missing."""
    if not Path(CHROMIUM).is_file() and shutil.which(CHROMIUM) is None:
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the report test needs Playwright's Python package: pip install -e '.[test]'")
        pytest.skip("Playwright's Python package is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
