"""The ML Platform Adoption Framework on top of the metric catalog: assess the stack layer (Step 1),
lint the chosen metrics (NS001–NS006), and check the North Star, inputs, KPIs and OKRs (Steps 2–4)."""

from __future__ import annotations

from northstar.framework.assess import LAYERS, Assessment, ComponentStatus, assess, measurable_categories
from northstar.framework.lint import RULES, Finding, LintReport, lint
from northstar.framework.sandwich import SANDWICH, SandwichLayer, sandwich_layer
from northstar.framework.series import Series, SeriesError, SeriesSource, Slot, slots
from northstar.framework.targets import CheckReport, expected_progress, kpi_status, kr_progress, run_check

__all__ = [
    "LAYERS",
    "RULES",
    "SANDWICH",
    "Assessment",
    "CheckReport",
    "ComponentStatus",
    "Finding",
    "LintReport",
    "SandwichLayer",
    "Series",
    "SeriesError",
    "SeriesSource",
    "Slot",
    "assess",
    "expected_progress",
    "kpi_status",
    "kr_progress",
    "lint",
    "measurable_categories",
    "run_check",
    "sandwich_layer",
    "slots",
]
