"""Step 1 to 3 of the framework: the stack layer the platform declares vs the one it really reached.

Step 1(A) lists the five stack layers with their components; Step 1(B) measures each component's adoption
over the last `assessment.window` (28 days) of data and finds the measured layer (DESIGN.md §1):

- declared layer = the highest layer with a declared component;
- a component is *adopted* when at least `assessment.adoption_threshold` of the active teams (teams with any
  activity in the window) used it in the window; layers 0–1 (generalized infrastructure) count as present
  when declared;
- measured layer = the highest present layer (0 when components are declared but none is present).

When the measured layer is ≤ 2, end-to-end delivery and adoption metrics are unreliable (the Step 1B warning).
Step 2 shows the target behaviours from config with their metrics, Step 3 recommends North Star candidates
for the measured layer.

Components come from the store's `components` table merged with `components:` in northstar.yaml; when
both declare the same id, the config's record wins (the config is what the platform team edits by hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from northstar.config import Settings
from northstar.metrics import catalog
from northstar.metrics.context import Context, Query
from northstar.metrics.run import data_extent

__all__ = [
    "LAYERS",
    "Assessment",
    "ComponentStatus",
    "LayerInfo",
    "assess",
    "day_after_data",
    "measurable_categories",
    "merge_components",
]


@dataclass(frozen=True)
class LayerInfo:
    """A stack layer of the framework ("levels of abstraction")."""

    layer: int
    name: str
    examples: str


LAYERS: tuple[LayerInfo, ...] = (
    LayerInfo(0, "hardware", "GPUs, object storage"),
    LayerInfo(1, "compute", "Kubernetes, Ray, Modal"),
    LayerInfo(2, "services", "Redis, Spark, Snowflake, DuckDB, model servers"),
    LayerInfo(3, "workflow", "MLflow, Featureform, Feast, W&B, CometML, WhyLabs"),
    LayerInfo(4, "platform", "ZenML, Kubeflow, Flyte, an internal golden path"),
)
LAYER_NAMES = {info.layer: info.name for info in LAYERS}

# The lowest layer at which each category can be measured (DESIGN.md §1 table). Satisfaction comes from
# surveys and the support channel, which need no platform telemetry: measurable at any layer. The feature
# store is a workflow-layer (3) component, so its metrics need layer 3.
CATEGORY_MIN_LAYER: dict[str, int] = {
    "reliability": 0,
    "satisfaction": 0,
    "delivery": 3,
    "feature_store": 3,
    "adoption": 4,
}
# Which category a North Star should come from at each measured layer (Step 3).
PRIMARY_CATEGORY: dict[int, str] = {0: "reliability", 1: "reliability", 2: "reliability", 3: "delivery", 4: "adoption"}
# Preferred North Star candidates, best first, when the catalog has them.
PREFERRED: tuple[str, ...] = (
    "adoption_rate",
    "activation_rate",
    "time_to_value",
    "time_to_deploy",
    "lead_time_for_changes",
    "deployment_frequency",
    "change_failure_rate",
    "failed_deployment_recovery_time",
    "availability",
    "slo",
    "latency_p95",
    "error_rate",
    "mtbf",
)
MAX_CANDIDATES = 5
# Extra columns that split a metric into several series per period (a North Star must pick one).
SERIES_KEYS = frozenset({"slo", "key", "dimension", "severity", "step", "state", "cohort", "offset"})


def measurable_categories(layer: int | None) -> list[str]:
    """The metric categories that can be measured when the platform's measured layer is `layer`."""
    if layer is None:
        return []
    return [c for c in catalog.CATEGORIES if CATEGORY_MIN_LAYER.get(c, 0) <= layer]


def layer_label(layer: int | None) -> str:
    """`3 (workflow)`, or `none` for an unknown layer."""
    return "none" if layer is None else f"{layer} ({LAYER_NAMES.get(layer, '?')})"


@dataclass
class ComponentStatus:
    """A declared component and its adoption in the assessment window."""

    id: str
    name: str | None
    layer: int
    category: str | None
    launched_at: date | None
    source: str  # store | config | store+config (config wins)
    teams: int = 0
    share: float | None = None
    adopted: bool = False
    present: bool = False


@dataclass
class Assessment:
    """What `northstar assess` reports: Step 1(A), 1(B), 2 and 3."""

    platform: str
    window_start: datetime | None
    window_end: datetime | None
    adoption_threshold: float
    active_teams: int
    components: list[ComponentStatus]
    declared_layer: int | None
    measured_layer: int | None
    measurable: list[str]
    unmeasurable: list[str]
    claimed_vs_actual: str | None
    step1b_warning: str | None
    layers: list[dict[str, Any]] = field(default_factory=list)
    behaviours: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def as_of(self) -> date | None:
        """The end of the assessment window (exclusive) as a date."""
        return None if self.window_end is None else self.window_end.date()

    def component(self, component_id: str) -> ComponentStatus | None:
        return next((c for c in self.components if c.id == component_id), None)

    def to_dict(self) -> dict[str, Any]:
        """One JSON-able object (what `northstar assess --format json` prints)."""
        return {
            "platform": self.platform,
            "window": {
                "start": self.window_start.date().isoformat() if self.window_start else None,
                "end": self.window_end.date().isoformat() if self.window_end else None,
            },
            "adoption_threshold": self.adoption_threshold,
            "active_teams": self.active_teams,
            "declared_layer": self.declared_layer,
            "measured_layer": self.measured_layer,
            "measurable_categories": self.measurable,
            "unmeasurable_categories": self.unmeasurable,
            "claimed_vs_actual": self.claimed_vs_actual,
            "step1b_warning": self.step1b_warning,
            "layers": self.layers,
            "components": [
                {**asdict(c), "launched_at": c.launched_at.isoformat() if c.launched_at else None}
                for c in self.components
            ],
            "behaviours": self.behaviours,
            "north_star_candidates": self.candidates,
            "notes": self.notes,
        }


def _as_date(value: Any) -> date | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, list | tuple) and bool(pd.isna(value)))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def merge_components(store_rows: Sequence[Mapping[str, Any]], settings: Settings) -> list[ComponentStatus]:
    """The inventory: the store's components, with the config's components added or replacing them by id."""
    merged: dict[str, ComponentStatus] = {}
    for r in store_rows:
        merged[str(r["id"])] = ComponentStatus(
            id=str(r["id"]),
            name=_text(r.get("name")),
            layer=int(r["layer"]),
            category=_text(r.get("category")),
            launched_at=_as_date(r.get("launched_at")),
            source="store",
        )
    for c in settings.components:
        merged[c.id] = ComponentStatus(
            id=c.id,
            name=c.name,
            layer=c.layer,
            category=c.category,
            launched_at=c.launched_at,
            source="store+config" if c.id in merged else "config",
        )
    return sorted(merged.values(), key=lambda c: (c.layer, c.id))


def day_after_data(con: Any) -> datetime | None:
    """Midnight after the last day with any event: the exclusive end of "the data" (None for an empty store)."""
    extent = data_extent(con)
    if extent is None:
        return None
    last = extent[1]
    return datetime(last.year, last.month, last.day) + timedelta(days=1)


def _usage(con: Any, settings: Settings, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    """Active teams in [start, end), and per component the teams that used it."""
    ctx = Context(con=con, settings=settings, query=Query(), window_start=start, window_end=end)
    a = ctx.in_window(ctx.activity(), "ts")
    a = a.filter(a.team.notnull())
    active = con.execute(a.aggregate(n=a.team.nunique()))["n"].iloc[0]
    per = con.execute(a.group_by("component").aggregate(teams=a.team.nunique()))
    return int(active or 0), {str(c): int(t) for c, t in zip(per["component"], per["teams"], strict=True)}


def _store_components(con: Any) -> list[dict[str, Any]]:
    t = con.table("components")
    df = con.execute(t.select("id", "name", "layer", "category", "launched_at"))
    return [dict(zip(df.columns, row, strict=True)) for row in df.itertuples(index=False, name=None)]


def assess(con: Any | None, settings: Settings, *, until: datetime | None = None) -> Assessment:
    """Assess the platform's stack layers from the store (`con`, an Ibis backend) and the config.

    The window is the `assessment.window` before `until` (default: midnight after the last day of data).
    Without a store only the declared picture is available: no component counts as adopted.
    """
    threshold = float(settings.assessment.adoption_threshold)
    notes: list[str] = []
    components = merge_components(_store_components(con) if con is not None else [], settings)
    end = until if until is not None else (day_after_data(con) if con is not None else None)
    start = end - settings.assessment.window if end is not None else None
    active, used = 0, dict[str, int]()
    if con is not None and start is not None and end is not None:
        active, used = _usage(con, settings, start, end)
    elif con is not None:
        notes.append("the store holds no events yet: no component can count as adopted")
    else:
        notes.append("no store: adoption is not measured, only layers 0–1 count as present")
    if con is not None and end is not None and active == 0:
        notes.append(
            f"no team activity in the window {start:%Y-%m-%d} – {end:%Y-%m-%d}: nothing above layer 1 is adopted"
        )

    for c in components:
        c.teams = used.get(c.id, 0)
        c.share = round(c.teams / active, 4) if active else None
        c.adopted = c.share is not None and c.share >= threshold
        c.present = c.layer <= 1 or c.adopted
    undeclared = sorted(set(used) - {c.id for c in components})
    if undeclared:
        notes.append(
            f"activity on components missing from the inventory (declare them with a layer): {', '.join(undeclared)}"
        )

    declared = max((c.layer for c in components), default=None)
    measured: int | None = max((c.layer for c in components if c.present), default=0) if components else None
    if not components:
        notes.append("no components declared: add `components:` to northstar.yaml or ingest a components file")
    elif not any(c.present for c in components):
        notes.append("no component is present (nothing at layers 0–1, nothing adopted): measured layer counted as 0")

    measurable = measurable_categories(measured)
    result = Assessment(
        platform=settings.platform.name,
        window_start=start,
        window_end=end,
        adoption_threshold=threshold,
        active_teams=active,
        components=components,
        declared_layer=declared,
        measured_layer=measured,
        measurable=measurable,
        unmeasurable=[c for c in catalog.CATEGORIES if c not in measurable] if measured is not None else [],
        claimed_vs_actual=_claimed_vs_actual(components, declared, measured, active, threshold),
        step1b_warning=_step1b(measured),
        notes=notes,
    )
    result.layers = _layers(components)
    result.behaviours = _behaviours(settings, measured)
    result.candidates = north_star_candidates(result)
    return result


def _layers(components: Sequence[ComponentStatus]) -> list[dict[str, Any]]:
    out = []
    for info in LAYERS:
        comps = [c for c in components if c.layer == info.layer]
        out.append(
            {
                "layer": info.layer,
                "name": info.name,
                "examples": info.examples,
                "components": [c.id for c in comps],
                "declared": bool(comps),
                "present": any(c.present for c in comps),
                "measurable_categories": measurable_categories(info.layer),
            }
        )
    return out


def _claimed_vs_actual(
    components: Sequence[ComponentStatus], declared: int | None, measured: int | None, active: int, threshold: float
) -> str | None:
    if declared is None or measured is None or declared <= measured:
        return None
    above = [c for c in components if c.layer > measured]
    detail = "; ".join(
        f"{c.id} (layer {c.layer}) used by {c.teams} of {active} active teams"
        + (f" ({c.share:.0%})" if c.share is not None else "")
        for c in above
    )
    return (
        f"claimed layer {layer_label(declared)}, actual layer {layer_label(measured)}: many teams claim the "
        f"{LAYER_NAMES[declared]} layer but have yet to ascend to it. Above layer {measured}, no component "
        f"reaches the {threshold:.0%} adoption threshold: {detail}"
    )


def _step1b(measured: int | None) -> str | None:
    if measured is None or measured > 2:
        return None
    return (
        f"Step 1B: the measured layer is {layer_label(measured)}: end-to-end delivery and adoption metrics are "
        "unreliable at this layer. Track stage-level metrics instead: reliability per service and adoption per "
        "component (e.g. adoption_rate with scope {component: …})."
    )


def _metric_view(name: str, measured: int | None) -> dict[str, Any]:
    m = catalog.REGISTRY.get(name)
    if m is None:
        return {"metric": name, "known": False}
    return {
        "metric": name,
        "known": True,
        "category": m.category,
        "question": m.question,
        "measurable": None if measured is None else m.category in measurable_categories(measured),
    }


def _behaviours(settings: Settings, measured: int | None) -> list[dict[str, Any]]:
    catalog.names()  # load the catalog
    return [
        {
            "name": b.name,
            "baseline": b.baseline,
            "desired": b.desired,
            "metrics": [_metric_view(n, measured) for n in b.metrics],
        }
        for b in settings.behaviours
    ]


def north_star_candidates(result: Assessment) -> list[dict[str, Any]]:
    """Step 3: North Star candidates that fit the measured layer, best first, each with its question and why.

    Candidates are output metrics of the layer's primary category (reliability up to layer 2, delivery at 3,
    adoption at 4) that are not vanity counts, can be influenced by the platform team and are platform
    (not data-science) metrics. At layer ≤ 2 the per-component adoption of each adopted layer-2 component
    is added: a stage-level metric Step 1B recommends.
    """
    layer = result.measured_layer
    if layer is None:
        return []
    primary = PRIMARY_CATEGORY[layer]
    catalog.names()
    fits = [
        m
        for m in catalog.REGISTRY.values()
        if m.category == primary and m.kind == "output" and not m.vanity and m.influence != "none"
        if m.scope == "platform"
    ]
    rank = {n: i for i, n in enumerate(PREFERRED)}
    fits.sort(key=lambda m: (rank.get(m.name, len(rank)), m.name))
    why = {
        "reliability": f"at layer {layer_label(layer)} only the infrastructure is measurable end to end, and its "
        "reliability is what the platform team owns and users feel",
        "delivery": f"at layer {layer_label(layer)} teams ship through the platform's tools, so the delivery of "
        "ML products is measurable end to end",
        "adoption": f"at layer {layer_label(layer)} teams work through one platform, so its adoption is "
        "measurable and is the outcome the platform exists for",
    }[primary]
    out: list[dict[str, Any]] = []
    for m in fits[:MAX_CANDIDATES]:
        split = [k for k in m.extra if k in SERIES_KEYS]
        pick = f"; one series per {split[0]}: choose one with scope {{{split[0]}: …}}" if split else ""
        out.append(
            {
                "metric": m.name,
                "scope": {},
                "category": m.category,
                "question": m.question,
                "direction": m.direction,
                "why": f"{why}; {m.direction.replace('_', ' ')} ({m.unit}){pick}",
            }
        )
    if layer <= 2 and "adoption_rate" in catalog.REGISTRY:
        q = catalog.REGISTRY["adoption_rate"].question
        for c in result.components:
            if c.layer == 2 and c.adopted:
                out.append(
                    {
                        "metric": "adoption_rate",
                        "scope": {"component": c.id},
                        "category": "adoption",
                        "question": q,
                        "direction": "higher_is_better",
                        "why": f"stage-level adoption of {c.id}, a layer-2 component used by {c.share:.0%} of "
                        "active teams: Step 1B recommends per-component metrics below layer 3",
                    }
                )
    return out


def is_end_to_end(category: str, scope: Mapping[str, str], components: Mapping[str, int]) -> bool:
    """Whether a metric slot measures the platform end to end (not one stage): an adoption metric scoped to
    one declared component is stage-level; everything else is end to end."""
    return not (category == "adoption" and "component" in scope and scope["component"] in components)
