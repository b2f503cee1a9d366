"""Derived tables: relational views of nested fields and rollups, kept in step with the canonical tables.

Each derived table is declared once here with

- `source`: the record kind whose changes it follows (a rollup of another derived table names that table's
  record kind, and is declared after it);
- `arrow(tables)`: a full build from Arrow tables (used for in-memory and Spark engines, and by tests as the
  reference the store's incremental SQL must agree with);
- `maintain(con, added, removed)`: the store's incremental SQL, run inside the upsert's transaction after the
  source table has been written. `added` is a relation with the rows just inserted (new or changed),
  `removed` one with the old versions of changed rows (or None when nothing was replaced).

Tables are built in declaration order, so a rollup may read a derived table declared before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from northstar.schema import DERIVED, DERIVED_FROM

__all__ = ["REGISTRY", "Derived", "build_all", "maintain", "rebuild_all"]


@dataclass(frozen=True)
class Derived:
    name: str
    arrow: Callable[[Mapping[str, pa.Table]], pa.Table]
    maintain: Callable[[Any, str, str | None], None]

    @property
    def source(self) -> str:
        return DERIVED_FROM[self.name]

    @property
    def schema(self) -> pa.Schema:
        return DERIVED[self.name]


def _registry() -> dict[str, Derived]:
    from northstar.derived import activity, latency

    return {
        "latency_buckets": Derived("latency_buckets", latency.buckets_arrow, latency.buckets_maintain),
        "latency_daily": Derived("latency_daily", latency.daily_arrow, latency.daily_maintain),
        "activity_days": Derived("activity_days", activity.days_arrow, activity.days_maintain),
        "activity_person_days": Derived(
            "activity_person_days", activity.person_days_arrow, activity.person_days_maintain
        ),
        "activity_team_days": Derived("activity_team_days", activity.team_days_arrow, activity.team_days_maintain),
        "activity_firsts": Derived("activity_firsts", activity.firsts_arrow, activity.firsts_maintain),
    }


REGISTRY: dict[str, Derived] = {}


def registry() -> dict[str, Derived]:
    if not REGISTRY:
        REGISTRY.update(_registry())
        missing = set(DERIVED) ^ set(REGISTRY)
        if missing:  # pragma: no cover - a declaration without its code (or the reverse)
            raise RuntimeError(f"derived tables without both a schema and code: {sorted(missing)}")
    return REGISTRY


def build_all(tables: dict[str, pa.Table], only: list[str] | None = None) -> None:
    """Add every derived table (or those in `only`) to `tables` (kind → Arrow table), built from scratch."""
    for name, d in registry().items():
        if only is None or name in only:
            tables[name] = d.arrow(tables).select(d.schema.names).cast(d.schema)


def maintain(con: Any, kind: str, added: str, removed: str | None) -> None:
    """Bring the store's derived tables of `kind` in step with a write of `kind` (in declaration order)."""
    for d in registry().values():
        if d.source == kind:
            d.maintain(con, added, removed)


def rebuild_all(con: Any) -> None:
    """Rebuild every derived table of the store from its canonical tables (used by migrations)."""
    for name in registry():
        con.execute(f'DELETE FROM "{name}"')
    for d in registry().values():
        d.maintain(con, f'"{d.source}"', None)
