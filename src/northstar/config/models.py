"""The settings model: one pydantic model per section of northstar.yaml, with DESIGN.md's defaults."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from northstar.config.values import (
    LocatedErrors,
    Money,
    Name,
    Period,
    Quarter,
    Ratio,
    Rollout,
    Scope,
    Seconds,
    Target,
    Window,
)
from northstar.records import Component


class _Section(BaseModel):
    """Base of every section: unknown keys are errors; an empty key (`key:` with no value) means the default."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class PlatformSettings(_Section):
    """The platform being measured."""

    name: Name = "ML platform"


class TeamsSettings(_Section):
    """Where the roster comes from: files of `teams` and `people` records (`teams: path` is short for path)."""

    path: Path | None = None
    people: Path | None = None


class AdoptionSettings(_Section):
    """Activation, time-to-value and funnel definitions (DESIGN.md §3, adoption)."""

    activation_actions: list[Name] = []
    activation_window: Window = timedelta(days=14)
    value_actions: list[Name] = ["deploy"]
    funnel_window: Window = timedelta(days=30)
    funnel_steps: Annotated[list[Name], Field(min_length=2)] | None = None


class DeliverySettings(_Section):
    """How incidents are linked to deployments for change failure rate."""

    incident_link_window: Window = timedelta(hours=24)


_CALENDAR_WORDS = {"calendar_month", "calendar-month", "calendar month", "month", "monthly"}


class SLO(_Section):
    """An OpenSLO-shaped objective on one service: a rolling `window` (e.g. 28d) or `calendar: month`."""

    name: Name
    service: Name
    indicator: Literal["availability", "latency"]
    objective: Annotated[Ratio, Field(gt=0, lt=1)]
    window: Window | None = None
    calendar: Literal["month"] | None = None
    latency_threshold: Seconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _calendar_window(cls, data: Any) -> Any:
        window = data.get("window") if isinstance(data, dict) else None
        if isinstance(window, str) and window.strip().lower() in _CALENDAR_WORDS:
            data = {**data, "calendar": "month"}
            del data["window"]
        return data

    @model_validator(mode="after")
    def _one_window(self) -> SLO:
        if self.window is not None and self.calendar is not None:
            raise LocatedErrors([(("window",), "give a rolling `window` or `calendar: month`, not both")])
        if self.window is None and self.calendar is None:
            self.window = timedelta(days=28)
        if self.indicator == "availability" and self.latency_threshold is not None:
            raise LocatedErrors([(("latency_threshold",), "only a latency SLO has a latency_threshold")])
        return self


class ReliabilitySettings(_Section):
    """Latency budgets (seconds per service), saturation threshold and SLOs."""

    saturation_threshold: Annotated[Ratio, Field(gt=0, le=1)] = 0.8
    latency_budgets: dict[str, Seconds] = {}
    slos: list[SLO] = []

    @model_validator(mode="after")
    def _check_slos(self) -> ReliabilitySettings:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, int] = {}
        for i, slo in enumerate(self.slos):
            if slo.name in seen:
                problems.append((("slos", i, "name"), f"duplicate SLO name {slo.name!r} (also slos[{seen[slo.name]}])"))
            seen.setdefault(slo.name, i)
            if slo.indicator == "latency" and slo.latency_threshold is None:
                if slo.service in self.latency_budgets:
                    slo.latency_threshold = self.latency_budgets[slo.service]
                else:
                    problems.append(
                        (
                            ("slos", i, "latency_threshold"),
                            f"a latency SLO needs a latency_threshold (e.g. 250ms), or a "
                            f"reliability.latency_budgets entry for service {slo.service!r}",
                        )
                    )
        if problems:
            raise LocatedErrors(problems)
        return self


class PrivacySettings(_Section):
    """Small-group suppression and pseudonymisation of people's ids (DESIGN.md §3, privacy)."""

    min_group_size: Annotated[int, Field(ge=1)] = 5
    pseudonymize: bool = False
    key: str | None = None

    @model_validator(mode="after")
    def _key_when_pseudonymizing(self) -> PrivacySettings:
        if self.pseudonymize and not self.key:
            raise LocatedErrors(
                [(("key",), "pseudonymize: true needs a secret key; write `key: ${NORTHSTAR_PSEUDONYM_KEY}`")]
            )
        return self


class AssessmentSettings(_Section):
    """When a component counts as adopted for the measured layer (DESIGN.md §1)."""

    adoption_threshold: Annotated[Ratio, Field(gt=0, le=1)] = 0.5
    window: Window = timedelta(days=28)


class TargetsSettings(_Section):
    """How much history a target needs before it is set (lint NS005)."""

    min_baseline_periods: Annotated[int, Field(ge=1)] = 8
    min_component_age: Window = timedelta(days=90)


class Behaviour(_Section):
    """A behaviour the platform team wants to change, and the metrics that show it changing."""

    name: Name
    baseline: str | None = None
    desired: str | None = None
    metrics: list[Name] = []


class NorthStar(_Section):
    """The one metric the platform team commits to; `target` may be a duration (`2d`, stored in seconds)."""

    metric: Name
    scope: Scope = {}
    target: Target | None = None
    by: date | None = None
    period: Period = "week"


class InputMetric(_Section):
    """An input metric that drives the North Star."""

    metric: Name
    scope: Scope = {}
    target: Target | None = None


class KPI(_Section):
    """A steady-state threshold: off track at `warn`, breached at `breach` (direction comes from the metric)."""

    metric: Name
    scope: Scope = {}
    warn: Target
    breach: Target
    owner: str | None = None
    period: Period = "week"


class KeyResult(_Section):
    """A key result: move `metric` from `baseline` to `target` by the end of the quarter."""

    metric: Name
    scope: Scope = {}
    baseline: Target | None = None
    target: Target


class OKR(_Section):
    """A time-bound objective for one quarter (`2026-Q1`)."""

    objective: Name
    quarter: Quarter
    key_results: Annotated[list[KeyResult], Field(min_length=1)]

    def bounds(self) -> tuple[date, date]:
        """The quarter as a half-open date range [start, end)."""
        year, q = int(self.quarter[:4]), int(self.quarter[-1])
        start = date(year, 3 * q - 2, 1)
        end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        return start, end


class RoiSettings(_Section):
    """Costs that turn time saved into money (DESIGN.md §4)."""

    hourly_cost: Money | None = None
    platform_cost: Money | None = None
    hours_per_unit: dict[str, Money] = {}


class Initiative(_Section):
    """A platform initiative for `northstar impact`: a component's adoption or a dated rollout."""

    name: Name
    component: str | None = None
    rollout: Rollout | None = None

    @model_validator(mode="after")
    def _has_treatment(self) -> Initiative:
        if self.component is None and self.rollout is None:
            raise LocatedErrors([((), "give a `component` (adoption of it is the treatment) or a `rollout` date")])
        return self


class Settings(_Section):
    """Everything in northstar.yaml, with DESIGN.md's defaults for what is not written."""

    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    components: list[Component] = []
    components_path: Path | None = Field(default=None, exclude=True)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    adoption: AdoptionSettings = Field(default_factory=AdoptionSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    reliability: ReliabilitySettings = Field(default_factory=ReliabilitySettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    assessment: AssessmentSettings = Field(default_factory=AssessmentSettings)
    targets: TargetsSettings = Field(default_factory=TargetsSettings)
    behaviours: list[Behaviour] = []
    north_star: NorthStar | None = None
    inputs: list[InputMetric] = []
    kpis: list[KPI] = []
    okrs: list[OKR] = []
    roi: RoiSettings = Field(default_factory=RoiSettings)
    connectors: dict[str, dict[str, Any]] = {}
    initiatives: list[Initiative] = []

    _source: Path | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal when the settings are, wherever they were read from."""
        if not isinstance(other, Settings):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    @property
    def source(self) -> Path | None:
        """The file these settings were loaded from (None: built-in defaults)."""
        return self._source

    @model_validator(mode="before")
    @classmethod
    def _components_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("components"), str | Path):
            data = {**data, "components_path": data["components"]}
            del data["components"]
        return data

    @field_validator("teams", mode="before")
    @classmethod
    def _teams_file(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str | Path) else value

    @field_validator("connectors", mode="before")
    @classmethod
    def _bare_connectors(cls, value: Any) -> Any:
        return {k: ({} if v is None else v) for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("components")
    @classmethod
    def _unique_components(cls, value: list[Component]) -> list[Component]:
        first: dict[str, int] = {}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for i, comp in enumerate(value):
            if comp.id in first:
                problems.append(((i, "id"), f"duplicate component id {comp.id!r} (also components[{first[comp.id]}])"))
            first.setdefault(comp.id, i)
        if problems:
            raise LocatedErrors(problems)
        return value
