"""Docs stay honest: generated sections match the code, every metric and command is documented."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from northstar.cli import app
from northstar.docs import metrics_markdown, update_readme
from northstar.metrics import REGISTRY, names

ROOT = Path(__file__).resolve().parent.parent


def test_readme_records_section_is_generated_from_records() -> None:
    readme = (ROOT / "README.md").read_text()
    assert update_readme(readme) == readme, "README record kinds are stale: run `python -m northstar.docs`"


def test_metrics_doc_matches_catalog() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    assert doc == metrics_markdown(), "docs/metrics.md is stale: run `python -m northstar.docs`"


def test_every_metric_has_definition_and_question() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    for name in names():
        m = REGISTRY[name]
        assert m.question.strip(), f"{name} has no question"
        assert len(m.definition.strip()) > 20, f"{name} has no definition"
        assert f"### `{name}`" in doc
        assert m.definition in doc and m.question in doc


def test_every_command_is_documented_in_readme_or_docs() -> None:
    text = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    group = get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"northstar {name}" in text, f"`northstar {name}` is not documented in README.md or docs/"
