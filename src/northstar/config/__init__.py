"""`northstar.yaml` → validated `Settings` (DESIGN.md §6), with `file:line` errors for every problem.

Every key is optional and defaults to DESIGN.md's values. Durations are written `250ms`, `90s`, `30m`, `24h`,
`14d`, `4w`; ratios may be written `0.6` or `60%`; metric targets may also be durations (`2d` → seconds).
Strings may use `${ENV_VAR}` (or `${ENV_VAR:-default}`) so secrets stay out of the file.
"""

from __future__ import annotations

from northstar.config.loading import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from northstar.config.models import (
    KPI,
    OKR,
    SLO,
    AdoptionSettings,
    AssessmentSettings,
    Behaviour,
    DeliverySettings,
    Initiative,
    InputMetric,
    KeyResult,
    NorthStar,
    PlatformSettings,
    PrivacySettings,
    ReliabilitySettings,
    RoiSettings,
    Settings,
    TargetsSettings,
    TeamsSettings,
)
from northstar.config.values import format_duration, parse_duration

__all__ = [
    "DEFAULT_CONFIG",
    "KPI",
    "OKR",
    "SLO",
    "AdoptionSettings",
    "AssessmentSettings",
    "Behaviour",
    "ConfigError",
    "DeliverySettings",
    "Initiative",
    "InputMetric",
    "KeyResult",
    "NorthStar",
    "PlatformSettings",
    "PrivacySettings",
    "ReliabilitySettings",
    "RoiSettings",
    "Settings",
    "TargetsSettings",
    "TeamsSettings",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
]
