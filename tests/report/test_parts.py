"""The report's small parts, without a store: number formats, chart data, id scoping, browser lookup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from northstar.report import charts
from northstar.report.data import MetricSet, Window
from northstar.report.fmt import duration_scale, fmt_delta, fmt_duration, fmt_value
from northstar.report.pdf import PdfError, find_browser


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.4, "ratio", "40%"),
        (0.0923, "ratio", "9.2%"),
        (0.999087, "ratio", "99.91%"),
        (1.0, "ratio", "100%"),
        (172_800, "seconds", "2.0 d"),
        (5_806, "seconds", "1.6 h"),
        (0.2271, "seconds", "227 ms"),
        (-3_600, "seconds", "−1.0 h"),
        (29.27, "score", "+29"),
        (-12.0, "score", "-12"),
        (4.553, "count", "4.55"),
        (1204, "count", "1,204"),
        (None, "ratio", "–"),
    ],
)
def test_fmt_value(value: float | None, unit: str, text: str) -> None:
    assert fmt_value(value, unit) == text


def test_durations_and_deltas() -> None:
    assert fmt_duration(45 * 86_400) == "45 d"
    assert duration_scale([3 * 86_400, 2 * 86_400]) == (86_400.0, "days")
    assert duration_scale([0.05, 0.2]) == (0.001, "milliseconds")
    assert fmt_delta(0.42, 0.40, "ratio") == "+2.0 pts"
    assert fmt_delta(90, 100, "seconds") == "-10%"
    assert fmt_delta(None, 1, "count") == ""


def test_window_completeness_and_cli_args() -> None:
    w = Window(datetime(2025, 10, 5), datetime(2026, 11, 1))
    assert w.complete("2026-10-19", "week") and not w.complete("2026-10-26", "week")
    assert w.complete("2026-10-01", "month") and not w.complete("2026-11-01", "month")
    assert w.last_day.isoformat() == "2026-10-31"
    spec = MetricSet("teams", ("active_users",), "month", by="team", unit="user")
    assert spec.cli_args(w) == [
        *("active_users", "--period", "month", "--since", "2025-10-05", "--until", "2026-11-01"),
        *("--by", "team", "--unit", "user"),
    ]


def test_stacked_bars_stack_up_and_down_in_order() -> None:
    rows = [
        {"t": "2026-01-01", "t2": "2026-02-01", "y": 3, "series": "returning"},
        {"t": "2026-01-01", "t2": "2026-02-01", "y": 2, "series": "new"},
        {"t": "2026-01-01", "t2": "2026-02-01", "y": -4, "series": "dormant"},
        {"t": "2026-01-01", "t2": "2026-02-01", "y": 0, "series": "resurrecting"},
    ]
    spec = charts.stacked_bars(rows, y_title="people", order=["new", "returning", "resurrecting", "dormant"])
    bars = {v["series"]: (v["y0"], v["y1"]) for v in spec["data"]["values"]}
    assert bars == {"new": (0.0, 2.0), "returning": (2.0, 5.0), "dormant": (0.0, -4.0)}


def test_rendered_svgs_have_their_own_ids() -> None:
    spec = charts.lines(
        [{"t": f"2026-0{m}-01", "y": m, "series": s} for m in range(1, 6) for s in ("a", "b")],
        y_title="y",
        clip=True,
    )
    one, two = charts.render_svg(spec, "one"), charts.render_svg(spec, "two")
    assert one.svg.startswith('<svg role="img" aria-label="one"')
    assert one.id != two.id and f'id="{one.id}-' in one.svg and f'id="{two.id}-' not in one.svg
    assert "http" not in one.svg.replace("http://www.w3.org/", "")
    assert charts.sparkline([("2026-01-01", 1.0)]) is None


def test_find_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_browser(str(fake)) == str(fake)
    monkeypatch.setenv("NORTHSTAR_BROWSER", str(fake))
    assert find_browser() == str(fake)
    monkeypatch.setenv("NORTHSTAR_BROWSER", str(tmp_path / "missing"))
    with pytest.raises(PdfError, match="NORTHSTAR_BROWSER"):
        find_browser()
    monkeypatch.delenv("NORTHSTAR_BROWSER")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("northstar.report.pdf.CANDIDATES", ("chromium",))
    with pytest.raises(PdfError, match="none was found: install Chromium"):
        find_browser()
