"""`--pdf`: print the report's HTML to PDF with a headless Chromium-family browser, when one is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BROWSER_ENV", "CANDIDATES", "PdfError", "find_browser", "install_hint", "print_pdf"]

BROWSER_ENV = "NORTHSTAR_BROWSER"
CANDIDATES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "brave-browser",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
# no network, no first-run chores: the page is a local file with everything inline
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-pdf-header-footer",
    "--print-to-pdf-no-header",
    "--virtual-time-budget=5000",
)


class PdfError(RuntimeError):
    """No browser to print with, or the browser failed."""


def install_hint() -> str:
    return (
        "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; Fedora: `sudo dnf install chromium`; "
        "macOS: `brew install --cask chromium`) or Google Chrome, or point NORTHSTAR_BROWSER (or --browser) at a "
        "Chrome, Chromium or Edge executable"
    )


def find_browser(explicit: str | None = None) -> str:
    """The browser to print with: `explicit`, else $NORTHSTAR_BROWSER, else the first Chromium-family on PATH."""
    chosen = explicit or os.environ.get(BROWSER_ENV)
    if chosen:
        path = shutil.which(chosen) or (chosen if Path(chosen).is_file() else None)
        if path is None:
            raise PdfError(f"no browser at {chosen!r}: {install_hint()}")
        return path
    for name in CANDIDATES:
        path = shutil.which(name) or (name if name.startswith("/") and Path(name).is_file() else None)
        if path:
            return path
    raise PdfError(f"--pdf needs a headless browser and none was found: {install_hint()}")


def print_pdf(html_path: Path, pdf_path: Path, *, browser: str | None = None, timeout: float = 180.0) -> Path:
    """Print `html_path` to `pdf_path` (A3 landscape pages, as the report's CSS asks)."""
    exe = find_browser(browser)
    pdf_path = pdf_path.resolve()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="northstar-pdf-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"{exe} did not finish printing within {timeout:.0f} s") from None
        except OSError as exc:
            raise PdfError(f"cannot run {exe}: {exc}") from None
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PdfError(f"{exe} could not print the report (exit {done.returncode}): {' '.join(tail)}")
    return pdf_path
