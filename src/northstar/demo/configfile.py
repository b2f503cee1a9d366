"""The demo organisation's `northstar.yaml` (DESIGN.md §6): inventory, settings, North Star, KPIs, OKRs, ROI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml

from northstar.demo._common import Calendar
from northstar.demo.org import COMPONENTS
from northstar.demo.reliability import KPI_SERVICE, PROFILES

__all__ = ["PLATFORM_NAME", "config_dict", "config_yaml"]

PLATFORM_NAME = "Acme ML Platform"

_HEADER = """\
# northstar.yaml for the simulated organisation written by `northstar demo`.
# Acme runs a layer-4 "golden path" on top of MLflow, Feast, Ray and Kubernetes, but most teams still work
# at the workflow layer (3): `northstar assess` should say so. See ground-truth.json for what was planted.
"""


def _quarter(cal: Calendar, days_before_end: int) -> str:
    d = cal.end - timedelta(days=days_before_end)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def config_dict(cal: Calendar) -> dict[str, Any]:
    """The config as plain data (dates as `date` objects, durations as text)."""
    return {
        "platform": {"name": PLATFORM_NAME},
        "components": [
            {
                "id": c.id,
                "name": c.name,
                "layer": c.layer,
                "category": c.category,
                "launched_at": cal.date_of(round(c.launch * cal.days)),
                "activation_actions": [c.activation],
            }
            for c in COMPONENTS
        ],
        "assessment": {"adoption_threshold": 0.5},
        "adoption": {
            "activation_actions": ["first_pipeline"],
            "activation_window": "14d",
            "value_actions": ["deploy"],
            "funnel_window": "30d",
        },
        "delivery": {"incident_link_window": "24h"},
        "reliability": {
            "saturation_threshold": 0.8,
            "latency_budgets": {p.name: p.latency_budget for p in PROFILES},
            "slos": [
                {
                    "name": "search-ranker-availability",
                    "service": "search-ranker",
                    "indicator": "availability",
                    "objective": 0.999,
                    "window": "28d",
                },
                {
                    "name": "search-ranker-latency",
                    "service": "search-ranker",
                    "indicator": "latency",
                    "objective": 0.99,
                    "window": "28d",
                },
                {
                    "name": f"{KPI_SERVICE}-availability",
                    "service": KPI_SERVICE,
                    "indicator": "availability",
                    "objective": 0.999,
                    "window": "28d",
                },
            ],
        },
        "privacy": {"min_group_size": 5, "pseudonymize": False},
        "targets": {"min_baseline_periods": 8},
        "behaviours": [
            {
                "name": "self-serve deploys",
                "baseline": "hand-off to the infra team, a runbook of manual steps",
                "desired": "data scientists ship models alone through the golden path",
                "metrics": ["time_to_deploy", "manual_tasks_to_deploy"],
            },
            {
                "name": "golden path by default",
                "baseline": "each team wires MLflow, Feast and Kubernetes by hand",
                "desired": "new projects start from a golden-path template",
                "metrics": ["adoption_rate", "activation_rate"],
            },
            {
                "name": "users help users",
                "baseline": "the platform team answers every support question",
                "desired": "practitioners answer each other in the support channel",
                "metrics": ["support_ratio", "time_to_first_answer"],
            },
        ],
        "north_star": {"metric": "time_to_deploy", "scope": {}, "target": "1d", "by": cal.end + timedelta(days=150)},
        "inputs": [
            {"metric": "activation_rate", "target": 0.6},
            {"metric": "adoption_rate", "scope": {"component": "golden-path"}, "target": 0.6},
            {"metric": "manual_tasks_to_deploy", "target": 2},
        ],
        "kpis": [
            {
                "metric": "availability",
                "scope": {"service": KPI_SERVICE},
                "warn": 0.999,
                "breach": 0.995,
                "owner": "fraud-oncall",
            },
            {
                "metric": "latency_p95",
                "scope": {"service": "search-ranker"},
                "warn": "200ms",
                "breach": "250ms",
                "owner": "search-oncall",
            },
            {"metric": "change_failure_rate", "scope": {}, "warn": 0.1, "breach": 0.15, "owner": "ml-platform"},
        ],
        "okrs": [
            {
                "objective": "Make the golden path the default",
                "quarter": _quarter(cal, 60),
                "key_results": [
                    {"metric": "adoption_rate", "scope": {"component": "golden-path"}, "baseline": 0.2, "target": 0.5},
                    {"metric": "manual_tasks_to_deploy", "baseline": 5, "target": 3},
                ],
            },
            {
                "objective": "Users help users",
                "quarter": _quarter(cal, 1),
                "key_results": [{"metric": "support_ratio", "baseline": 0.5, "target": 0.7}],
            },
        ],
        "roi": {"hourly_cost": 120, "platform_cost": 400000},
        # the initiative whose effect the demo planted: `northstar impact` and the report's ROI line use it
        "initiatives": [{"name": "golden path", "component": "golden-path"}],
    }


def config_yaml(cal: Calendar) -> str:
    """`northstar.yaml` text for the demo organisation."""
    body = yaml.safe_dump(config_dict(cal), sort_keys=False, default_flow_style=False, width=110)
    return _HEADER + body
