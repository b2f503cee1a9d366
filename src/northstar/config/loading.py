"""Reading northstar.yaml: YAML with line numbers, `${ENV}` interpolation, and one `FILE:LINE: key: reason`
per problem (pydantic's error locations are mapped back to the YAML node tree)."""

from __future__ import annotations

import csv
import difflib
import json
import os
import re
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from northstar.config.models import Settings
from northstar.config.values import LocatedErrors
from northstar.records import Component, RecordError, validate_record

DEFAULT_CONFIG = Path("northstar.yaml")


class ConfigError(Exception):
    """A config that cannot be used; one `FILE:LINE: key: what is wrong` line per problem in `problems`."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (pydantic parses them, with errors at the right line) and reads
    only true/false as booleans (so `no`, `on`, `off` stay strings)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_STR_TAG = "tag:yaml.org,2002:str"
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Loc = tuple[str | int, ...]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _walk_nodes(
    node: yaml.Node, path: Loc = (), seen: set[int] | None = None
) -> Iterator[tuple[Loc, yaml.Node | None, yaml.Node]]:
    """Every (path, key node, value node) in the tree, depth first; a node shared by aliases comes once."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            yield sub, key, value
            yield from _walk_nodes(value, sub, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield (*path, i), None, item
            yield from _walk_nodes(item, (*path, i), seen)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _interpolate(root: yaml.Node) -> list[tuple[int, Loc, str]]:
    """Replace `${VAR}` / `${VAR:-default}` in string scalars with the environment's values; `$$` is `$`."""
    problems: list[tuple[int, Loc, str]] = []
    done: set[int] = set()  # a scalar shared by aliases is substituted once
    for loc, _, node in _walk_nodes(root):
        if id(node) in done or not (isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG and "$" in node.value):
            continue
        done.add(id(node))

        def sub(m: re.Match[str], loc: Loc = loc, node: yaml.Node = node) -> str:
            if m.group(0) == "$$":
                return "$"
            value = os.environ.get(m.group(1), m.group(2))
            if value is None:
                problems.append((_line(node), loc, f"environment variable {m.group(1)} is not set"))
                return ""
            return value

        node.value = _ENV.sub(sub, node.value)
    return problems


def _duplicate_keys(root: yaml.Node) -> list[tuple[int, Loc, str]]:
    """YAML keeps the last of two equal keys silently; a config that says a thing twice is an error."""
    problems: list[tuple[int, Loc, str]] = []
    mappings = [((), root), *((loc, value) for loc, _, value in _walk_nodes(root))]
    for loc, node in mappings:
        if not isinstance(node, yaml.MappingNode):
            continue
        first: dict[str, int] = {}
        for key, _ in node.value:
            name = str(key.value)
            if name in first and name != "<<":
                problems.append((_line(key), (*loc, name), f"duplicate key (first on line {first[name]})"))
            first.setdefault(name, _line(key))
    return problems


def _line_of(root: yaml.Node | None, loc: Loc) -> int:
    """The line of the deepest key or item of `loc` present in the YAML tree."""
    if root is None:
        return 1
    node, line = root, _line(root)
    for part in loc:
        found = None
        if isinstance(node, yaml.MappingNode):
            # The last of duplicate keys is the one YAML keeps.
            found = next(((k, v) for k, v in reversed(node.value) if str(k.value) == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = (node.value[part], node.value[part])
        if found is None:
            break
        line, node = _line(found[0]), found[1]
    return line


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        args = [_unwrap(a) for a in get_args(tp) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if models else args[0]
    return tp


def _keys_at(loc: Loc) -> list[str]:
    """The keys allowed in the mapping at `loc` (for "did you mean …?")."""
    tp: Any = Settings
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [name for name, f in tp.model_fields.items() if not f.exclude]
    return []


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(choices)})" if choices else ""


def _yaml_loc(loc: Loc) -> Loc:
    """Pydantic's error location → the keys as written in the YAML file."""
    parts = [p for p in loc if isinstance(p, int) or not any(c in p for c in "[]()")]
    if parts[:1] == ["components_path"]:
        parts[0] = "components"
    return tuple(parts)


def _message(err: Any, loc: Loc) -> str:
    kind, msg, value = err["type"], str(err["msg"]), err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(str(loc[-1]), _keys_at(loc[:-1]))
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if kind == "too_short":
        n = int((err.get("ctx") or {}).get("min_length", 1))
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    msg = msg[:1].lower() + msg[1:]
    if kind == "literal_error" and isinstance(value, str):
        choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        return f"{msg}, got {value!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if isinstance(value, str | int | float | bool):
        return f"{msg}, got {value!r}"
    return msg


def _pydantic_problems(exc: ValidationError, root: yaml.Node | None) -> list[tuple[int, Loc, str]]:
    problems = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        items = (
            ctx_error.items if isinstance(ctx_error, LocatedErrors) else [((), _message(err, _yaml_loc(err["loc"])))]
        )
        for sub, msg in items:
            loc = _yaml_loc((*err["loc"], *sub))
            problems.append((_line_of(root, loc), loc, msg))
    return problems


def _compose(text: str, name: str) -> tuple[yaml.Node | None, Any, list[tuple[int, Loc, str]]]:
    """Parse YAML text into (node tree, data, problems), with env interpolation and duplicate-key checks."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        problems = [*_interpolate(root), *_duplicate_keys(root)] if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            reason += f" ({exc.context}, line {int(exc.context_mark.line) + 1})"
        if "\\t" in reason or "'\\t'" in str(exc):
            reason += " (indent with spaces, not tabs)"
        raise ConfigError([f"{name}:{line}: YAML syntax error: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}:1: YAML syntax error: {exc}"]) from None
    finally:
        loader.dispose()
    return root, data, problems


def _format(name: str, problems: list[tuple[int, Loc, str]]) -> list[str]:
    ordered = sorted(enumerate(problems), key=lambda p: (p[1][0], p[0]))
    return [f"{name}:{line}: {_dotted(loc)}: {msg}" for _, (line, loc, msg) in ordered]


def _inventory_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) for each component in an inventory file: CSV, JSON, JSONL or YAML."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield f"{path}:{reader.line_num}", {k: v for k, v in row.items() if k is not None}
    elif suffix == ".jsonl":
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError([f"{path}:{n}: not valid JSON: {exc.msg}"]) from None
                yield f"{path}:{n}", row
    elif suffix in {".yaml", ".yml", ".json"}:
        root, data, problems = _compose(path.read_text(encoding="utf-8"), str(path))
        if problems:
            raise ConfigError(_format(str(path), problems))
        prefix: Loc = ()
        if isinstance(data, dict) and "components" in data:
            data, prefix = data["components"], ("components",)
        if not isinstance(data, list):
            raise ConfigError([f"{path}:1: expected a list of components"])
        for i, row in enumerate(data):
            yield f"{path}:{_line_of(root, (*prefix, i))}", row
    else:
        raise ConfigError([f"{path}: unsupported inventory format {suffix!r} (use .csv, .yaml, .json or .jsonl)"])


def _load_inventory(path: Path) -> list[Component]:
    """Components from an inventory file, every bad row reported as `FILE:LINE: field: reason`."""
    components: list[Component] = []
    problems: list[str] = []
    first: dict[str, str] = {}
    try:
        for where, row in _inventory_rows(path):
            try:
                if not isinstance(row, dict):
                    raise RecordError("component", "expected a mapping of fields")
                comp = validate_record("components", row)
            except RecordError as exc:
                problems.append(f"{where}: {exc.field}: {exc.reason}")
                continue
            assert isinstance(comp, Component)
            if comp.id in first:
                problems.append(f"{where}: id: duplicate component id {comp.id!r} (first at {first[comp.id]})")
            first.setdefault(comp.id, where)
            components.append(comp)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the inventory: {exc}"]) from None
    if problems:
        raise ConfigError(problems)
    return components


def parse_config(text: str, path: Path = DEFAULT_CONFIG) -> Settings:
    """Settings from YAML text; `path` names the file in errors and anchors relative paths in it."""
    name = str(path)
    root, data, problems = _compose(text, name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{name}:1: the file must be a mapping of sections (platform:, adoption:, …), got a {type(data).__name__}"]
        )
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        # A value whose ${VAR} was unset is already reported; its emptiness is not a second problem.
        unset = {loc for _, loc, _ in problems}
        problems += [p for p in _pydantic_problems(exc, root) if p[1] not in unset]
    if settings is not None:
        base = path.parent
        for loc, attr_owner, attr in (
            (("components",), settings, "components_path"),
            (("teams", "path"), settings.teams, "path"),
            (("teams", "people"), settings.teams, "people"),
        ):
            value = getattr(attr_owner, attr)
            if value is None:
                continue
            resolved = value if value.is_absolute() else base / value
            setattr(attr_owner, attr, resolved)
            if not resolved.is_file():
                problems.append((_line_of(root, loc), loc, f"file not found: {resolved}"))
    if problems:
        raise ConfigError(_format(name, problems))
    assert settings is not None
    if settings.components_path is not None:
        settings.components = _load_inventory(settings.components_path)
    settings._source = path
    return settings


def load_config(path: Path | None = None) -> Settings:
    """Settings from `path`; with no path, `./northstar.yaml` if it exists, else the built-in defaults."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return Settings()
        path = DEFAULT_CONFIG
    if not path.exists():
        raise ConfigError([f"{path}: no such file (write one with `northstar init`)"])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    return parse_config(text, path)
