"""The metric catalog: every MPAF metric as one Ibis expression, runnable on DuckDB and Spark."""

from __future__ import annotations

from northstar.metrics.catalog import CATEGORIES, REGISTRY, Metric, get, names
from northstar.metrics.context import PERIODS, Context, Query
from northstar.metrics.run import MetricsError, Result, compute
from northstar.metrics.scorecard import scorecard

__all__ = [
    "CATEGORIES",
    "PERIODS",
    "REGISTRY",
    "Context",
    "Metric",
    "MetricsError",
    "Query",
    "Result",
    "compute",
    "get",
    "names",
    "scorecard",
]
