"""The North Star lint: the framework's mistakes in choosing metrics, NS001–NS006 (DESIGN.md §1).

- NS000 config: unknown metric (with did-you-mean), a scope the metric cannot be computed for, KPI
  thresholds in the wrong order. The config cannot be evaluated as written: exit code 2.
- NS001 vanity: a cumulative, ever-growing count as North Star or KPI (error; warning for inputs and key
  results).
- NS002 output: the North Star is not an `output` metric (error); an input is not an `input` metric (warning).
- NS003 layer: the category is not measurable at the measured layer, Step 1B (error for the North Star,
  warning elsewhere). Needs the store; skipped with a note without one.
- NS004 scope: a data-science task metric (accuracy, AUC, loss, …) anywhere: out of scope (error). Names not
  in the catalog are recognised by their words (`val_loss`, `model_accuracy`).
- NS005 too early: a target with fewer than `targets.min_baseline_periods` periods of data, or on a component
  launched less than `targets.min_component_age` (90d) ago: "setting targets too early" (warning).
- NS006 influence: a metric the platform team cannot influence (`influence: none`) as a KPI (error; warning
  elsewhere).

An adoption metric scoped to one component (`{component: feature-store}`) is a stage-level metric: NS003
lets it pass at any layer, as Step 1B recommends per-component adoption below the platform layer.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

from northstar.config import Settings
from northstar.framework.assess import CATEGORY_MIN_LAYER, Assessment, is_end_to_end, layer_label
from northstar.framework.series import SeriesError, SeriesSource, Slot, scope_problems, slots
from northstar.metrics import catalog

__all__ = ["DS_TASK_WORDS", "RULES", "Finding", "LintReport", "lint"]

Severity = Literal["error", "warning"]

RULES: dict[str, str] = {
    "NS000": "config",
    "NS001": "vanity",
    "NS002": "output",
    "NS003": "layer",
    "NS004": "scope",
    "NS005": "too early",
    "NS006": "influence",
}

# Words that name data-science task metrics (model quality), recognised in metric names that are not in
# the catalog: `val_loss`, `model_accuracy`, `auc`, `f1_score`, …
DS_TASK_WORDS = frozenset(
    {
        *("accuracy", "acc", "auc", "roc", "rocauc", "loss", "logloss", "f1", "fscore", "precision", "recall"),
        *("rmse", "mse", "mae", "mape", "r2", "perplexity", "bleu", "rouge", "ndcg", "map", "iou"),
    }
)


@dataclass(frozen=True)
class Finding:
    """One lint finding: rule id, severity, where in the config, a one-line reason and what to do."""

    rule: str
    severity: Severity
    where: str
    reason: str
    hint: str
    metric: str | None = None
    line: int | None = None

    @property
    def name(self) -> str:
        return RULES[self.rule]

    def text(self, source: Path | str | None = None) -> str:
        """`northstar.yaml:57: kpis[2].metric: NS001 vanity (error): reason — hint`."""
        at = f"{source}:{self.line}: " if source is not None and self.line is not None else ""
        return f"{at}{self.where}: {self.rule} {self.name} ({self.severity}): {self.reason} — {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "name": self.name}


@dataclass
class LintReport:
    """Findings (errors first, then in config order) and notes on rules that could not run."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def config_errors(self) -> list[Finding]:
        """NS000 errors: the config cannot be evaluated as written."""
        return [f for f in self.errors if f.rule == "NS000"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
        }


def ds_task_metric(name: str, meta: catalog.Metric | None) -> bool:
    """A data-science task metric: catalog `scope: data_science`, or a name made of model-quality words."""
    if meta is not None:
        return meta.scope == "data_science"
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    return any(w in DS_TASK_WORDS for w in words) or name.lower().replace("_", "") in DS_TASK_WORDS


_ROLE_LABEL = {
    "north_star": "the North Star",
    "input": "an input",
    "kpi": "a KPI",
    "key_result": "a key result",
    "behaviour": "a behaviour's metric",
}


class _Linter:
    def __init__(
        self,
        settings: Settings,
        metrics: Mapping[str, catalog.Metric],
        assessment: Assessment | None,
        series: SeriesSource | None,
        as_of: date | None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.assessment = assessment
        self.series = series
        self.as_of = as_of
        self.report = LintReport()

    def add(self, rule: str, severity: Severity, slot: Slot | str, reason: str, hint: str) -> None:
        where = slot.where if isinstance(slot, Slot) else slot
        metric = slot.metric if isinstance(slot, Slot) else None
        self.report.findings.append(Finding(rule, severity, where, reason, hint, metric))

    def run(self) -> LintReport:
        all_slots = slots(self.settings)
        if self.assessment is None or self.assessment.measured_layer is None:
            why = "no store given" if self.assessment is None else "no components declared"
            self.report.notes.append(f"NS003 layer skipped: {why}, so the measured layer is unknown")
        if self.series is None:
            self.report.notes.append("NS005 too early: periods of data not counted (no store given)")
        for slot in all_slots:
            meta = self.metrics.get(slot.metric)
            if ds_task_metric(slot.metric, meta):
                self._ns004(slot, meta)
                continue
            if meta is None:
                self._unknown(slot)
                continue
            problems = scope_problems(meta, slot.scope)
            for p in problems:
                where = slot.where.replace(".metric", ".scope")
                self.add("NS000", "error", Slot(slot.role, where, slot.metric), p, "fix the scope in northstar.yaml")
            self._ns001(slot, meta)
            self._ns002(slot, meta)
            self._ns003(slot, meta)
            self._ns006(slot, meta)
            if not problems:
                self._ns005(slot)
        self._thresholds()
        self.report.findings.sort(key=lambda f: f.severity != "error")
        return self.report

    # -- rules ---------------------------------------------------------------------------------------
    def _unknown(self, slot: Slot) -> None:
        close = difflib.get_close_matches(slot.metric, list(self.metrics), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "`northstar catalog` lists the metrics"
        self.add("NS000", "error", slot, f"unknown metric {slot.metric!r}", hint)

    def _ns001(self, slot: Slot, meta: catalog.Metric) -> None:
        if not meta.vanity or slot.role == "behaviour":
            return
        severity: Severity = "error" if slot.role in ("north_star", "kpi") else "warning"
        self.add(
            "NS001",
            severity,
            slot,
            f"{meta.name} is a cumulative, ever-growing count (a vanity metric): it cannot fall, so it cannot "
            f"tell you anything as {_ROLE_LABEL[slot.role]}",
            "choose a rate per period instead, e.g. active_teams, adoption_rate or activation_rate",
        )

    def _ns002(self, slot: Slot, meta: catalog.Metric) -> None:
        if slot.role == "north_star" and meta.kind != "output":
            self.add(
                "NS002",
                "error",
                slot,
                f"{meta.name} is an input metric; the North Star must be an output metric (the outcome users get)",
                "make it an input (inputs:) and pick an output metric as North Star; `northstar catalog` shows kind",
            )
        elif slot.role == "input" and meta.kind != "input":
            self.add(
                "NS002",
                "warning",
                slot,
                f"{meta.name} is an output metric; inputs should be input metrics the team can move directly",
                "choose an input metric that drives the North Star (kind: input in `northstar catalog`)",
            )

    def _ns003(self, slot: Slot, meta: catalog.Metric) -> None:
        a = self.assessment
        if a is None or a.measured_layer is None or slot.role == "behaviour":
            return
        need = CATEGORY_MIN_LAYER.get(meta.category, 0)
        layers = {c.id: c.layer for c in a.components}
        if need <= a.measured_layer or not is_end_to_end(meta.category, slot.scope, layers):
            return
        severity: Severity = "error" if slot.role == "north_star" else "warning"
        self.add(
            "NS003",
            severity,
            slot,
            f"{meta.name} is an end-to-end {meta.category} metric, measurable from layer {layer_label(need)}; "
            f"the platform's measured layer is {layer_label(a.measured_layer)} (Step 1B)",
            "use a stage-level metric (reliability per service, adoption per component: scope {component: …}); "
            "`northstar assess` lists candidates",
        )

    def _ns004(self, slot: Slot, meta: catalog.Metric | None) -> None:
        how = (
            "the catalog marks it data_science"
            if meta is not None
            else "not in the catalog; recognised by name (accuracy, auc, loss, f1, precision, recall, rmse, …)"
        )
        self.add(
            "NS004",
            "error",
            slot,
            f"{slot.metric!r} is a data-science task metric (model quality), out of scope for the platform ({how})",
            "measure what the platform changes: time_to_deploy, adoption_rate, availability, …",
        )

    def _ns005(self, slot: Slot) -> None:
        if not slot.has_target:
            return
        need = self.settings.targets.min_baseline_periods
        comp_id = slot.scope.get("component")
        if comp_id is not None:
            launched = self._launched(comp_id)
            age = self.settings.targets.min_component_age
            if launched is not None and self.as_of is not None and self.as_of - launched < age:
                days = (self.as_of - launched) // timedelta(days=1)
                self.add(
                    "NS005",
                    "warning",
                    slot,
                    f"setting targets too early: component {comp_id} launched {launched} ({days} days before "
                    f"{self.as_of}), less than {age.days} days",
                    "track it without a target until it has a baseline",
                )
                return
        if self.series is None or slot.role == "key_result":
            return  # a key result's baseline is its own (or the previous quarter's value)
        try:
            got = self.series.get(slot.metric, slot.scope, slot.period).periods_with_data()
        except SeriesError:
            return  # reported by `check` as a config problem
        if got < need:
            self.add(
                "NS005",
                "warning",
                slot,
                f"setting targets too early: {got} {slot.period}(s) of data for {slot.metric}, fewer than "
                f"targets.min_baseline_periods ({need})",
                f"collect a baseline of {need} {slot.period}s before committing to a target",
            )

    def _ns006(self, slot: Slot, meta: catalog.Metric) -> None:
        if meta.influence != "none" or slot.role == "behaviour":
            return
        severity: Severity = "error" if slot.role == "kpi" else "warning"
        self.add(
            "NS006",
            severity,
            slot,
            f"the platform team cannot influence {meta.name} (catalog influence: none); as {_ROLE_LABEL[slot.role]} "
            "it would page people for something they cannot change",
            "pick a metric the platform team moves directly",
        )

    def _thresholds(self) -> None:
        for i, k in enumerate(self.settings.kpis):
            meta = self.metrics.get(k.metric)
            if meta is None or k.warn == k.breach:
                continue
            lower = meta.direction == "lower_is_better"
            if (k.breach < k.warn) if lower else (k.breach > k.warn):
                order = "breach above warn" if lower else "breach below warn"
                self.add(
                    "NS000",
                    "error",
                    f"kpis[{i}].breach",
                    f"{meta.name} is {meta.direction.replace('_', ' ')}: warn {k.warn:g} and breach {k.breach:g} "
                    "are in the wrong order",
                    f"swap them ({order})",
                )

    # -- helpers ---------------------------------------------------------------------------------------
    def _launched(self, component: str) -> date | None:
        if self.assessment is not None:
            c = self.assessment.component(component)
            return c.launched_at if c is not None else None
        return next((c.launched_at for c in self.settings.components if c.id == component), None)


def lint(
    settings: Settings,
    *,
    assessment: Assessment | None = None,
    series: SeriesSource | None = None,
    as_of: date | None = None,
    metrics: Mapping[str, catalog.Metric] | None = None,
) -> LintReport:
    """Lint the metrics chosen in `settings` (North Star, inputs, KPIs, key results, behaviours).

    `assessment` (from the store) enables NS003; `series` enables NS005's count of periods of data;
    `as_of` is "now" for component ages (default: the assessment's window end, else today).
    `metrics` replaces the catalog (tests).
    """
    if metrics is None:
        catalog.names()
        metrics = catalog.REGISTRY
    if as_of is None:
        as_of = assessment.as_of if assessment is not None and assessment.as_of is not None else date.today()
    report = _Linter(settings, metrics, assessment, series, as_of).run()
    if settings.source is not None:
        report.findings = _with_lines(report.findings, settings.source)
    return report


def _with_lines(findings: Sequence[Finding], source: Path) -> list[Finding]:
    """The findings with the config file's line of their key (when the file can be read)."""
    try:
        root = yaml.compose(source.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return list(findings)
    return [Finding(**{**asdict(f), "line": _line_of(root, f.where)}) for f in findings]


def _line_of(root: yaml.Node | None, where: str) -> int | None:
    """The line of the deepest key or item of a path like `okrs[0].key_results[1].metric`."""
    if root is None:
        return None
    node, line = root, int(root.start_mark.line) + 1
    for part in re.findall(r"[^.\[\]]+", where):
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in reversed(node.value) if str(k.value) == part), None)
            if hit is None:
                break
            line, node = int(hit[0].start_mark.line) + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = int(node.start_mark.line) + 1
        else:
            break
    return line
