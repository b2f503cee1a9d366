"""`northstar init` (write a commented northstar.yaml) and `northstar config` (print the effective settings)."""

from __future__ import annotations

import json
import re
import sys
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from northstar.cli import app
from northstar.cli._common import ConfigOption, UserError, console, print_rows, user_errors
from northstar.cli._common import Format as TableFormat
from northstar.config import DEFAULT_CONFIG, ConfigError, Settings, load_config

__all__ = ["load_settings", "settings_document"]

_SECRET_KEY = re.compile(r"token|secret|password|passwd|api_?key|^key$|credential", re.IGNORECASE)
_MASK = "***"


def load_settings(config: Path | None) -> Settings:
    """Settings for a command's `--config` option; a bad config becomes a UserError (exit code 2)."""
    try:
        return load_config(config)
    except ConfigError as exc:
        if len(exc.problems) == 1:
            raise UserError(exc.problems[0]) from None
        name = config or DEFAULT_CONFIG
        raise UserError(f"{name}: {len(exc.problems)} problems (listed above)", exc.problems) from None


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (_MASK if _SECRET_KEY.search(str(k)) and v not in (None, "") else _mask_secrets(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


def settings_document(settings: Settings, *, show_secrets: bool = False) -> dict[str, Any]:
    """The settings as plain JSON-able data, in northstar.yaml's own shape (durations as `14d`)."""
    doc: dict[str, Any] = settings.model_dump(mode="json")
    if not show_secrets:
        if doc["privacy"].get("key"):
            doc["privacy"]["key"] = _MASK
        doc["connectors"] = _mask_secrets(doc["connectors"])
    return doc


def _flatten(value: Any, prefix: str = "") -> list[dict[str, Any]]:
    """One {key, value} row per leaf, with dotted keys (`reliability.slos[0].objective`)."""
    if isinstance(value, dict) and value:
        return [row for k, v in value.items() for row in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        return [row for i, v in enumerate(value) for row in _flatten(v, f"{prefix}[{i}]")]
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return [{"key": prefix, "value": value}]


class ConfigFormat(StrEnum):
    yaml = "yaml"
    json = "json"
    table = "table"
    csv = "csv"


_NEXT_STEPS = """\
Next steps:
  1. Edit it: name the platform, list its components with their stack layers, set SLOs, North Star and KPIs.
  2. Check it:             northstar config{config}
  3. Load your data:       northstar ingest teams teams.csv   (then people, activity, deployments, …)
  4. See where you stand:  northstar assess   and   northstar check
"""


@app.command("init")
def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Directory to write northstar.yaml into (created if missing), or a file path ending in .yaml.",
            metavar="DIR",
            show_default=True,
        ),
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a fully commented northstar.yaml to start from.

    It covers every section (components and their layers, adoption, delivery, reliability and SLOs, privacy,
    North Star, inputs, KPIs, OKRs, ROI, connectors) with example values you edit or delete; every key is
    optional. Refuses to overwrite an existing file unless `--force` is given.
    """
    with user_errors():
        target = directory if directory.suffix.lower() in {".yaml", ".yml"} else directory / DEFAULT_CONFIG.name
        if target.is_dir():
            raise UserError(f"{target} is a directory; give a directory to write northstar.yaml into")
        if target.exists() and not force:
            raise UserError(f"{target} already exists; edit it, or overwrite it with `northstar init --force`")
        template = files("northstar").joinpath("templates", "northstar.yaml").read_text(encoding="utf-8")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(template, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    console.print(f"Wrote [bold]{target}[/]", highlight=False, soft_wrap=True)
    in_cwd = target.resolve() == DEFAULT_CONFIG.resolve()
    steps = _NEXT_STEPS.format(config="" if in_cwd else f" --config {target}")
    console.print(steps, highlight=False, markup=False, soft_wrap=True)


@app.command("config")
def config_command(
    config: ConfigOption = None,
    fmt: Annotated[
        ConfigFormat,
        typer.Option(
            "--format",
            "-f",
            help="yaml (loadable as a northstar.yaml), json, or table/csv of dotted keys and values.",
        ),
    ] = ConfigFormat.yaml,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print privacy.key and connector tokens instead of ***.")
    ] = False,
) -> None:
    """Validate northstar.yaml and print the effective settings, defaults filled in.

    Reads `--config`, else env NORTHSTAR_CONFIG, else ./northstar.yaml if present, else the built-in defaults.
    Every problem is reported as `FILE:LINE: key: reason` and the exit code is 2. Durations print as `14d`,
    latency budgets and duration targets as seconds.
    """
    with user_errors():
        settings = load_settings(config)
    doc = settings_document(settings, show_secrets=show_secrets)
    if fmt is ConfigFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif fmt is ConfigFormat.yaml:
        source = f"from {settings.source}" if settings.source else "built-in defaults (no northstar.yaml found)"
        header = f"# northstar effective settings: {source}\n"
        if settings.components_path is not None:
            header += f"# components read from {settings.components_path}\n"
        sys.stdout.write(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120))
    else:
        print_rows(_flatten(doc), TableFormat(fmt.value), title="northstar settings", columns=["key", "value"])
