"""`sync`: run the configured connectors, each in one transaction with its cursor, and report per connector.

A connector that fails (unreachable, unauthorised, malformed data, bad config) is rolled back, so the store
keeps everything it had, and the next connectors still run. Rows go through `ingest_records`, the same
validator as files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from northstar.connectors import (
    Connector,
    ConnectorConfigError,
    ConnectorContext,
    ConnectorError,
    Cursor,
    build,
)
from northstar.ingest import IngestError, IngestRejected, OnError, ingest_records
from northstar.store import Store

__all__ = ["KindCounts", "SyncResult", "cursor_key", "load_people", "sync", "sync_one"]

Progress = Callable[[str, str, int], None]
"""Called after each batch with (connector name, kind, rows read so far by this connector)."""


@dataclass
class KindCounts:
    """What one connector run did to one record kind."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


@dataclass
class SyncResult:
    """The outcome of one connector: `ok`, `failed` (with `error`; nothing of it was stored) or `disabled`."""

    name: str
    type: str
    status: str = "ok"
    error: str | None = None
    details: list[str] = field(default_factory=list)
    kinds: dict[str, KindCounts] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per kind (or one for a connector with nothing or an error), for the CLI's table."""
        base = {"connector": self.name, "type": self.type, "status": self.status}
        if self.status != "ok" or not self.kinds:
            return [{**base, "kind": None, "error": self.error, "seconds": round(self.seconds, 2)}]
        return [
            {**base, "kind": kind, **vars(c), "error": None, "seconds": round(self.seconds, 2)}
            for kind, c in self.kinds.items()
        ]


def cursor_key(name: str) -> str:
    """The `cursors` table key of connector `name`."""
    return f"connector:{name}"


def load_people(store: Store) -> dict[str, dict[str, Any]]:
    """Person id → team and role, for connectors that map authors to people."""
    rows = store.con.execute("SELECT id, team, role FROM people").fetchall()
    return {str(i): {"team": t, "role": r or "practitioner"} for i, t, r in rows}


def _load_cursor(store: Store, name: str) -> Cursor | None:
    text = store.get_cursor(cursor_key(name))
    if not text:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else None


def sync_one(
    store: Store,
    connector: Connector,
    *,
    on_error: OnError = "reject",
    pseudonymize: bool = False,
    key: str | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Run one connector from its cursor; all its rows and its new cursor are stored in one transaction."""
    result = SyncResult(connector.name, connector.type)
    started = time.perf_counter()
    try:
        with store.transaction():
            reader = connector.read(_load_cursor(store, connector.name))
            while True:
                try:
                    batch = next(reader)
                except StopIteration as stop:
                    new_cursor: Cursor | None = stop.value
                    break
                if not batch.rows:
                    continue
                done = ingest_records(
                    store,
                    batch.kind,
                    batch.rows,
                    on_error=on_error,
                    source=f"{connector.name}:{batch.kind}",
                    pseudonymize=pseudonymize,
                    key=key,
                )
                counts = result.kinds.setdefault(batch.kind, KindCounts())
                counts.inserted += done.inserted
                counts.updated += done.updated
                counts.unchanged += done.unchanged
                counts.quarantined += done.quarantined
                result.rows += len(batch.rows)
                if progress is not None:
                    progress(connector.name, batch.kind, result.rows)
            if new_cursor is not None:
                store.set_cursor(cursor_key(connector.name), json.dumps(new_cursor, sort_keys=True, default=str))
    except IngestRejected as exc:
        _failed(result, f"{connector.name}: {exc}", exc.details(10))
    except ConnectorError as exc:
        _failed(result, f"{connector.name}: {exc}")
    except IngestError as exc:
        _failed(result, f"{connector.name}: {exc}")
    except Exception as exc:  # a connector bug or an unexpected source: report it, keep the other connectors
        _failed(result, f"{connector.name}: unexpected {type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - started
    return result


def _failed(result: SyncResult, message: str, details: Sequence[str] = ()) -> None:
    result.status = "failed"
    result.error = message + " (nothing from this connector was stored)"
    result.details = list(details)
    result.kinds = {}


def sync(
    store: Store,
    sections: dict[str, dict[str, Any]],
    names: Sequence[str] = (),
    *,
    base_dir: Path | None = None,
    config_name: str = "northstar.yaml",
    on_error: OnError = "reject",
    pseudonymize: bool = False,
    key: str | None = None,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
) -> list[SyncResult]:
    """Run the connectors of `sections` (the config's `connectors:`), or only `names`, in config order."""
    unknown = [n for n in names if n not in sections]
    if unknown:
        raise ConnectorConfigError(
            [
                f"{config_name}: connectors.{n}: no such connector; configured: {', '.join(sections) or 'none'}"
                for n in unknown
            ]
        )
    context = ConnectorContext(base_dir=base_dir or Path.cwd(), people=load_people(store))
    results: list[SyncResult] = []
    for name, section in sections.items():
        if names and name not in names:
            continue
        type_name = str(section.get("type") or name)
        if on_start is not None:
            on_start(name)
        try:
            connector = build(name, section, context, config_name)
        except ConnectorConfigError as exc:
            results.append(SyncResult(name, type_name, "failed", f"{name}: invalid config", exc.problems))
            continue
        except ImportError as exc:
            results.append(SyncResult(name, type_name, "failed", f"{name}: cannot load the connector: {exc}"))
            continue
        if not getattr(getattr(connector, "config", None), "enabled", True):
            results.append(SyncResult(name, type_name, "disabled"))
            continue
        results.append(
            sync_one(store, connector, on_error=on_error, pseudonymize=pseudonymize, key=key, progress=progress)
        )
    return results
