"""The platform-metrics "sandwich": four layers that every platform metric belongs to, top to bottom.

1. product — delivery of the platform's services (ML products reaching production: DORA for models),
2. satisfaction — how the platform's users feel about it (NPS, SPACE, support),
3. adoption — adoption and engagement, per platform and per component (including the feature store),
4. reliability — the infrastructure underneath (SLOs, latency, incidents, saturation).

`check` and the report group North Star, inputs, KPIs and key results by these layers so that a scorecard
always shows the whole sandwich, and an empty layer is visible as such.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["SANDWICH", "SandwichLayer", "group_by_layer", "sandwich_layer"]

T = TypeVar("T")


@dataclass(frozen=True)
class SandwichLayer:
    """One layer of the sandwich: its key, title, the question it answers and the catalog categories in it."""

    key: str
    title: str
    question: str
    categories: tuple[str, ...]


SANDWICH: tuple[SandwichLayer, ...] = (
    SandwichLayer(
        "product",
        "Product and delivery of platform services",
        "Does the platform get ML products to production, fast and safely?",
        ("delivery",),
    ),
    SandwichLayer(
        "satisfaction",
        "User satisfaction",
        "Do the platform's users like it and get help when stuck?",
        ("satisfaction",),
    ),
    SandwichLayer(
        "adoption",
        "Adoption and engagement, per platform and per component",
        "Is the platform, and each of its components, used and does use stick?",
        ("adoption", "feature_store"),
    ),
    SandwichLayer(
        "reliability",
        "Reliability",
        "Does the infrastructure underneath hold up?",
        ("reliability",),
    ),
)

# Metrics whose sandwich layer differs from their catalog category's: data freshness is an operational
# (reliability) concern even though the metric lives with the feature-store metrics.
_OVERRIDES: dict[str, str] = {"feature_freshness": "reliability"}
_BY_CATEGORY: dict[str, str] = {c: layer.key for layer in SANDWICH for c in layer.categories}


def sandwich_layer(metric: str, category: str | None) -> str | None:
    """The sandwich layer key of a metric (None for an unknown category)."""
    if metric in _OVERRIDES:
        return _OVERRIDES[metric]
    return _BY_CATEGORY.get(category or "")


def group_by_layer(items: Iterable[T], layer_of: Callable[[T], str | None]) -> list[dict[str, Any]]:
    """Items grouped by sandwich layer, in sandwich order; every layer appears (empty ones too), plus an
    `other` group for items without a layer when there are any."""
    groups: dict[str, list[T]] = {layer.key: [] for layer in SANDWICH}
    other: list[T] = []
    for item in items:
        groups.get(layer_of(item) or "", other).append(item)
    out: list[dict[str, Any]] = [
        {"layer": layer.key, "title": layer.title, "question": layer.question, "items": groups[layer.key]}
        for layer in SANDWICH
    ]
    if other:
        out.append({"layer": "other", "title": "Unknown metrics", "question": "", "items": other})
    return out
