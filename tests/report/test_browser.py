"""The report in a real headless Chromium: no console error, no request, every chart drawn, a one-page poster."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.report.conftest import ARTIFACTS, Built


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_the_report_in_chromium(built: Built, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1640, "height": 1200})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    url = built.path.resolve().as_uri()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#poster").screenshot(path=str(ARTIFACTS / "poster.png"))
    assert (ARTIFACTS / "poster.png").stat().st_size > 50_000

    assert errors == []
    assert [r for r in requests if r != url and not r.startswith("data:")] == []

    charts = page.evaluate(
        """() => [...document.querySelectorAll('.chart')].map(c => {
            const svg = c.querySelector('svg');
            if (!svg) return {chart: c.dataset.chart, svg: false};
            const box = svg.getBoundingClientRect();
            const marks = svg.querySelectorAll('path[d]:not([d=""]), rect, circle, text').length;
            return {chart: c.dataset.chart, svg: true, w: box.width, h: box.height, marks};
        })"""
    )
    detail = [c for c in charts if c["chart"] not in ("spark", "north-star")]
    assert len(detail) >= 14, detail
    assert any(c["chart"] == "north-star" for c in charts)
    assert sum(c["chart"] == "spark" for c in charts) >= 15
    for c in charts:
        assert c["svg"] and c["w"] > 20 and c["h"] > 10 and c["marks"] > 2, c

    # nothing on a sheet is cut off: every box holds its content
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.sheet, .panel-box, .band, .tile, .panel')]
            .filter(e => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
            .map(e => (e.id || e.className) + ' ' + (e.textContent || '').trim().slice(0, 60))"""
    )
    assert clipped == []

    whole = page.pdf(format="A3", landscape=True, print_background=True)
    assert _pages(whole) == 1 + page.locator("section.page").count()
    # the poster alone fits one printed A3-landscape page
    page.evaluate("() => document.querySelectorAll('section.page').forEach(e => e.remove())")
    assert _pages(page.pdf(format="A3", landscape=True, print_background=True)) == 1
    page.close()


def test_pdf_with_the_real_browser(built: Built, browser: Any, tmp_path: Path) -> None:
    from northstar.report import print_pdf
    from tests.report.conftest import CHROMIUM

    pdf = print_pdf(built.path, tmp_path / "report.pdf", browser=CHROMIUM)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert _pages(data) == 5
    # A3 landscape: 420 × 297 mm = 1190.55 × 841.89 pt
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    assert abs(float(box.group(1)) - 1190.6) < 2 and abs(float(box.group(2)) - 841.9) < 2
