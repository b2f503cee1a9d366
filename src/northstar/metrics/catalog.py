"""The metric registry: each metric is one Ibis expression over the canonical tables plus its metadata.

A metric's `compute(ctx)` returns an Ibis table with the columns
`period_start` (timestamp), `group` (string, null without `--by`), `value` (float64), `n` (int64),
any `extra` columns it declares (e.g. `cohort`, `offset`, `step`, `state`, `band`), and, for metrics computed
from people, `people` (distinct people behind the value; used for privacy suppression, never printed).
The runner (`northstar.metrics.run`) executes it, fills the period grid and applies privacy.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from northstar.metrics.context import Context

__all__ = [
    "CATEGORIES",
    "REGISTRY",
    "Metric",
    "get",
    "metric",
    "names",
]

Category = Literal["adoption", "delivery", "reliability", "satisfaction", "feature_store"]
Unit = Literal["ratio", "count", "seconds", "per_second", "score"]
Direction = Literal["higher_is_better", "lower_is_better"]
Kind = Literal["output", "input"]
Influence = Literal["full", "partial", "none"]
Dim = Literal["team", "component", "service"]

CATEGORIES: tuple[str, ...] = ("adoption", "delivery", "reliability", "satisfaction", "feature_store")


@dataclass(frozen=True)
class Metric:
    """A catalog entry: metadata of DESIGN.md §1 plus how to compute it."""

    name: str
    category: Category
    question: str
    definition: str
    unit: Unit
    direction: Direction
    kind: Kind
    layer: int
    default_unit_of_analysis: str
    compute: Callable[[Context], ir.Table] = field(repr=False, compare=False)
    vanity: bool = False
    influence: Influence = "full"
    dims: tuple[Dim, ...] = ()
    units: tuple[str, ...] = ()
    is_count: bool = False
    people_based: bool = False
    gridded: bool = True
    extra: tuple[str, ...] = ()
    fill: Callable[[Context], Sequence[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)
    scope: Literal["data_science", "platform"] = "platform"

    def metadata(self) -> dict[str, Any]:
        """The metadata as a JSON-able dict (what `northstar catalog` prints)."""
        return {
            "name": self.name,
            "category": self.category,
            "question": self.question,
            "definition": self.definition,
            "unit": self.unit,
            "direction": self.direction,
            "kind": self.kind,
            "layer": self.layer,
            "default_unit_of_analysis": self.default_unit_of_analysis,
            "vanity": self.vanity,
            "influence": self.influence,
            "by": list(self.dims),
            "units": list(self.units),
        }


REGISTRY: dict[str, Metric] = {}


def metric(**meta: Any) -> Callable[[Callable[[Context], ir.Table]], Callable[[Context], ir.Table]]:
    """Register the decorated `compute(ctx)` function as a catalog metric with the given metadata."""

    def register(fn: Callable[[Context], ir.Table]) -> Callable[[Context], ir.Table]:
        name = meta.get("name", fn.__name__)
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} is registered twice")
        doc = " ".join(inspect.cleandoc(fn.__doc__ or "").split())
        meta.setdefault("definition", doc)
        REGISTRY[name] = Metric(name=name, compute=fn, **{k: v for k, v in meta.items() if k != "name"})
        return fn

    return register


def _load() -> None:
    # importing the category modules registers their metrics
    from northstar.metrics import adoption, cohorts, delivery, features, reliability, satisfaction, support  # noqa: F401


def get(name: str) -> Metric:
    """The metric named `name`, or KeyError listing close names."""
    _load()
    try:
        return REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, list(REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"unknown metric {name!r}{hint}; `northstar catalog` lists them") from None


def names(category: str | None = None) -> list[str]:
    """Every registered metric name (in registration order), optionally of one category."""
    _load()
    return [m.name for m in REGISTRY.values() if category is None or m.category == category]
