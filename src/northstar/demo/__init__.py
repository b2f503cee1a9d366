"""`northstar demo`: a simulated organisation good enough to show the whole product.

About 40 teams and 400 people use ten platform components across the five stack layers for a year (by
default through 2026-10-31); they ship changes and models, break things, answer surveys and each other's
support questions. `generate` returns the record tables, the org's `northstar.yaml` and a ground truth of
the effects it planted; `run_demo` writes all three under a directory. Deterministic for a seed.

Layout: `org` (teams, people, components, activity), `delivery`, `reliability`, `voice` (surveys, support),
`features`, `configfile`, `truth` (planted vs measured), `simulate` (`generate`), `run` (files and store).
"""

from __future__ import annotations

from northstar.demo._common import DEFAULT_LAST_DAY
from northstar.demo.run import (
    CONFIG_NAME,
    DB_NAME,
    GROUND_TRUTH_NAME,
    DemoResult,
    headline,
    load_into_store,
    metric_scorecard,
    run_demo,
    write_demo,
)
from northstar.demo.simulate import DemoData, generate

__all__ = [
    "CONFIG_NAME",
    "DB_NAME",
    "DEFAULT_LAST_DAY",
    "GROUND_TRUTH_NAME",
    "DemoData",
    "DemoResult",
    "generate",
    "headline",
    "load_into_store",
    "metric_scorecard",
    "run_demo",
    "write_demo",
]
