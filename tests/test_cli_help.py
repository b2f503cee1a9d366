"""Every command explains itself: `--help` works and says what the command does."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from northstar.cli import app

COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
runner = CliRunner()


def test_root_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    help_text = get_command(app).commands[name].help  # type: ignore[attr-defined]
    assert help_text and len(help_text.strip()) > 20, f"{name} has no real help text"
    # Rich renders the docstring as markdown: compare the first words without markup
    first_words = " ".join(help_text.replace("`", "").replace("*", "").split()[:4])
    assert first_words in " ".join(result.output.split())


def test_core_commands_exist() -> None:
    for name in ("demo", "ingest", "init", "catalog", "metrics", "quarantine"):
        assert name in COMMANDS


def test_metrics_without_store_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["metrics", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no store at" in result.output
