"""Connectors: pull records from the tools a platform team already runs, incrementally (DESIGN.md §5).

A connector is a small module with a pydantic config model (its `connectors:` entry in `northstar.yaml`) and
a `read(cursor)` generator that yields `Batch(kind, rows)` and returns its new cursor. Rows are plain dicts
with the fields of DESIGN.md §2; `northstar.connectors.run.sync` validates them with the same validator as
files (`northstar.ingest.ingest_records`) and loads each connector's run in one transaction with its cursor.

This module is light: built-in connectors are imported only when used, third-party ones are found through
the `northstar.connectors` entry-point group (`name = "package.module:ConnectorClass"`).

    connectors:
      platform-repo: {type: git, path: ../platform, service: platform}
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "BUILTIN",
    "BaseConnector",
    "Batch",
    "Connector",
    "ConnectorConfig",
    "ConnectorConfigError",
    "ConnectorContext",
    "ConnectorError",
    "Cursor",
    "Reader",
    "available",
    "build",
    "connector_class",
    "missing_extra",
]

Cursor = dict[str, Any]
"""A connector's position: any JSON object; the store keeps it per connector name."""

Reader = Generator["Batch", None, Cursor | None]
"""What `Connector.read` returns: yields batches, returns the new cursor."""


@dataclass(frozen=True)
class Batch:
    """Rows of one record kind, as dicts with the field names of DESIGN.md §2."""

    kind: str
    rows: list[dict[str, Any]]


class ConnectorError(Exception):
    """A source that is unreachable, refuses the credentials or sends something malformed: what and what to do."""


class ConnectorConfigError(ConnectorError):
    """A `connectors.NAME` section that does not validate: one `northstar.yaml: connectors.NAME.key: reason` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ConnectorConfig(BaseModel):
    """Keys every connector section accepts; each connector's model adds its own (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = None
    """Which connector (git, slack, mlflow, …); defaults to the section's name."""
    enabled: bool = True


@dataclass
class ConnectorContext:
    """What a connector may know about the rest of northstar: where the config lives and who the people are."""

    base_dir: Path = field(default_factory=Path.cwd)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Person id → {"team": …, "role": …}, from the store's `people` table."""

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def person(self, *candidates: str | None) -> str | None:
        """The first candidate that is a known person id (case-insensitive), else None."""
        lowered = {k.lower(): k for k in self.people}
        for c in candidates:
            if c and c.lower() in lowered:
                return lowered[c.lower()]
        return None

    def team_of(self, person: str | None) -> str | None:
        """The team of a known person."""
        info = self.people.get(person or "")
        return None if info is None else info.get("team")


@runtime_checkable
class Connector(Protocol):
    """A source of records. `Config` validates its config section; `read` yields batches, returns a cursor."""

    type: ClassVar[str]
    Config: ClassVar[builtins.type[ConnectorConfig]]
    name: str

    def read(self, cursor: Cursor | None) -> Reader:
        """Yield the records newer than `cursor` (None on the first sync) and return the new cursor."""
        ...


class BaseConnector:
    """Convenience base: keeps the section's name, its validated config and the context."""

    type: ClassVar[str] = ""
    Config: ClassVar[builtins.type[ConnectorConfig]] = ConnectorConfig

    def __init__(self, name: str, config: ConnectorConfig, context: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.context = context


BUILTIN: dict[str, str] = {
    "git": "northstar.connectors.git:GitConnector",
    "slack": "northstar.connectors.slack:SlackConnector",
    "survey": "northstar.connectors.csvfiles:SurveyConnector",
    "incidents": "northstar.connectors.csvfiles:IncidentsConnector",
    "mlflow": "northstar.connectors.mlflow:MlflowConnector",
    "prometheus": "northstar.connectors.prometheus:PrometheusConnector",
}
"""Built-in connector types → `module:Class` (imported on first use)."""

ENTRY_POINT_GROUP = "northstar.connectors"


def available() -> dict[str, str]:
    """Every connector type: built-in ones and those of installed packages (entry points)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def connector_class(type_name: str) -> type[Connector]:
    """The class of a connector type; `ConnectorError` for an unknown one."""
    known = available()
    target = known.get(type_name)
    if target is None:
        raise ConnectorError(f"unknown connector type {type_name!r}; the types are: {', '.join(sorted(known))}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Connector] = getattr(module, attr)
    return cls


def missing_extra(package: str, extra: str) -> ConnectorError:
    """The error for an optional dependency that is not installed, with the exact command to install it."""
    return ConnectorError(f"needs the {package} package: pip install 'northstar-ml[{extra}]'")


def _problems(name: str, exc: ValidationError, config_name: str) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in ("connectors", name, *err["loc"]))
        msg = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        value = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden") and isinstance(value, str | int | float):
            msg += f", got {value!r}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append(f"{config_name}: {loc}: {msg}")
    return out


def build(
    name: str, section: Mapping[str, Any], context: ConnectorContext, config_name: str = "northstar.yaml"
) -> Connector:
    """The connector of the `connectors.NAME` section, its config validated by the connector's own model."""
    type_name = str(section.get("type") or name)
    try:
        cls = connector_class(type_name)
    except ConnectorError as exc:
        raise ConnectorConfigError([f"{config_name}: connectors.{name}.type: {exc}"]) from None
    try:
        config = cls.Config.model_validate(dict(section))
    except ValidationError as exc:
        raise ConnectorConfigError(_problems(name, exc, config_name)) from None
    connector: Connector = cls(name, config, context)  # type: ignore[call-arg]
    return connector
