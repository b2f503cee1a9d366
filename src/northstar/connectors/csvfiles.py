"""CSV exports: survey responses from form tools → `survey_responses`; incident exports → `incidents`.

A survey CSV as Google Forms, Microsoft Forms, Typeform or SurveyMonkey export it: one row per respondent,
a timestamp column, an optional respondent (email) column and one column per question; `questions:` maps a
column header to its question id, SPACE dimension and scale. An incident CSV as PagerDuty or Opsgenie export
it (or any CSV with `columns:` naming the fields). A file that has not changed since the last sync is not
read again; a changed one is read in full and upserted by id, so a resolved incident updates its row.
"""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from northstar.connectors import BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader

__all__ = ["IncidentsConfig", "IncidentsConnector", "Question", "SurveyConfig", "SurveyConnector"]

_TIME_FORMATS = (
    "%m/%d/%Y %H:%M:%S",  # Google Sheets / Forms (US locale)
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y/%m/%d %I:%M:%S %p",  # Google Forms download
    "%m/%d/%Y %I:%M:%S %p",  # SurveyMonkey, Microsoft Forms
    "%m/%d/%y %H:%M:%S",
    "%b %d, %Y %I:%M:%S %p",  # PagerDuty UI exports
)
_GMT = re.compile(r"\s*(?:GMT|UTC)([+-]\d{1,2})(?::?(\d{2}))?$")


class _CsvConfig(ConnectorConfig):
    path: str = Field(description="The CSV file (relative to northstar.yaml).")
    timestamp_format: str | None = None
    """strptime format of the timestamps when they are not ISO-8601 or one of the common export formats."""
    timezone: str = "UTC"
    """The zone of timestamps written without an offset."""
    delimiter: str = ","

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)") from None
        return value


def parse_time(text: str, fmt: str | None, zone: str) -> str:
    """A timestamp as exported → ISO-8601 UTC; text that does not parse is returned as is (the validator says why)."""
    raw = text.strip()
    if not raw:
        return raw
    if raw.isdigit() and len(raw) in (10, 13):  # epoch seconds or milliseconds (Opsgenie)
        return datetime.fromtimestamp(int(raw) / (1000 if len(raw) == 13 else 1), UTC).isoformat()
    offset = None
    m = _GMT.search(raw)
    if m:
        sign = -1 if m.group(1).startswith("-") else 1
        offset = timezone(sign * timedelta(hours=abs(int(m.group(1))), minutes=int(m.group(2) or 0)))
        raw = raw[: m.start()]
    parsed = None
    for f in (fmt,) if fmt else (None, *_TIME_FORMATS):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")) if f is None else datetime.strptime(raw, f)
            break
        except ValueError:
            continue
    if parsed is None:
        return text
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=offset or ZoneInfo(zone))
    return parsed.astimezone(UTC).isoformat()


class _CsvConnector(BaseConnector):
    config: _CsvConfig

    def _rows(self, cursor: Cursor | None) -> tuple[list[dict[str, str]], list[str], str, Path] | None:
        """The file's rows and header, or None when it has not changed since the cursor."""
        path = self.context.resolve(self.config.path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConnectorError(f"file not found: {path}") from None
        except OSError as exc:
            raise ConnectorError(f"cannot read {path}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        if cursor and cursor.get("sha256") == digest:
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
        reader = csv.DictReader(text.splitlines(), delimiter=self.config.delimiter)
        header = [h.strip() for h in reader.fieldnames or []]
        if not header:
            raise ConnectorError(f"{path}: empty file, expected a header row")
        reader.fieldnames = header
        rows = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
        return rows, header, digest, path

    def _time(self, value: str) -> str:
        return parse_time(value, self.config.timestamp_format, self.config.timezone)


def _pick(header: list[str], given: str | None, candidates: tuple[str, ...], what: str, path: Path) -> str | None:
    if given is not None:
        if given not in header:
            raise ConnectorError(f"{path}: no {what} column {given!r}; the columns are: {', '.join(header)}")
        return given
    lowered = {h.lower(): h for h in header}
    return next((lowered[c.lower()] for c in candidates if c.lower() in lowered), None)


# -- surveys -------------------------------------------------------------------------------------------


class Question(BaseModel):
    """How one question column maps to a survey response."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    """The question id (default: the column header)."""
    scale: Literal["nps", "likert5", "likert7"]
    dimension: Literal["satisfaction", "performance", "activity", "communication", "efficiency"] | None = None


class SurveyConfig(_CsvConfig):
    """`connectors.NAME` for a survey CSV."""

    survey: str | None = None
    """The survey id (default: the connector's name)."""
    questions: dict[str, Question] = Field(min_length=1)
    """Column header → question id, scale and SPACE dimension."""
    timestamp_column: str | None = None
    respondent_column: str | None = None
    team_column: str | None = None


class SurveyConnector(_CsvConnector):
    """One survey CSV; a row per respondent, a column per question."""

    type = "survey"
    Config = SurveyConfig
    config: SurveyConfig

    def read(self, cursor: Cursor | None) -> Reader:
        """Every answered question of every row, when the file changed since the last sync."""
        got = self._rows(cursor)
        if got is None:
            return cursor
        rows, header, digest, path = got
        cfg = self.config
        ts_col = _pick(
            header,
            cfg.timestamp_column,
            ("Timestamp", "Submitted At", "Submit Date (UTC)", "Completion time", "Start Date", "Date Created"),
            "timestamp",
            path,
        )
        if ts_col is None:
            raise ConnectorError(f"{path}: no timestamp column found; set connectors.{self.name}.timestamp_column")
        who = _pick(header, cfg.respondent_column, ("Email Address", "Email", "Respondent", "Username"), "", path)
        team = _pick(header, cfg.team_column, ("Team",), "team", path)
        missing = [q for q in cfg.questions if q not in header]
        if missing:
            raise ConnectorError(
                f"{path}: question column {missing[0]!r} not found; the columns are: {', '.join(header)}"
            )
        survey = cfg.survey or self.name
        out: list[dict[str, Any]] = []
        for line, row in enumerate(rows, start=2):
            ts = self._time(row.get(ts_col, ""))
            respondent = row.get(who) if who else None
            for column, q in cfg.questions.items():
                score = row.get(column, "")
                if score == "":
                    continue  # not answered
                qid = q.id or column
                out.append(
                    {
                        "id": f"{survey}/{respondent or f'row{line}'}/{row.get(ts_col, '')}/{qid}",
                        "ts": ts,
                        "survey": survey,
                        "question": qid,
                        "score": _number(score),
                        "scale": q.scale,
                        "respondent": respondent or None,
                        "team": (row.get(team) or None) if team else None,
                        "dimension": q.dimension,
                    }
                )
        yield Batch("survey_responses", out)
        return {"sha256": digest}


def _number(text: str) -> Any:
    """`9`, `9.0` or a labelled answer such as `9 - Extremely likely` → its number; other text as is."""
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)\b", text)
    return float(m.group(1)) if m else text


# -- incidents -----------------------------------------------------------------------------------------

_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "pagerduty": {
        "id": ("id", "Incident ID", "incident_number", "Number"),
        "service": ("service_name", "Service Name", "Service"),
        "severity": ("priority", "Priority", "urgency", "Urgency"),
        "opened_at": ("created_on", "Created On", "created_at", "Created"),
        "resolved_at": ("resolved_on", "Resolved On", "resolved_at", "Resolved"),
        "team": ("team_name", "Team Name", "Teams"),
    },
    "opsgenie": {
        "id": ("TinyId", "Tiny Id", "Id", "IncidentId"),
        "service": ("Impacted Services", "ImpactedServices", "Service"),
        "severity": ("Priority",),
        "opened_at": ("CreatedAt", "Created At"),
        "resolved_at": ("ResolvedAt", "Resolved At", "ClosedAt", "Closed At"),
        "team": ("Teams", "Team", "Owner Team"),
    },
}
_PRESETS["generic"] = {f: (f, *_PRESETS["pagerduty"][f], *_PRESETS["opsgenie"][f]) for f in _PRESETS["pagerduty"]} | {
    "caused_by_deployment": ("caused_by_deployment",)
}


class IncidentsConfig(_CsvConfig):
    """`connectors.NAME` for an incident CSV."""

    format: Literal["pagerduty", "opsgenie", "generic"] = "generic"
    columns: dict[str, str] = Field(default_factory=dict)
    """Incident field → column header, overriding the format's defaults."""
    service: str | None = None
    """The service of every incident (when the export has no service column)."""
    services: dict[str, str] = Field(default_factory=dict)
    """Service name in the export → northstar service id."""
    id_prefix: str = ""

    @field_validator("columns")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        known = set(_PRESETS["generic"])
        for k in value:
            if k not in known:
                raise ValueError(f"unknown incident field {k!r} (fields: {', '.join(sorted(known))})")
        return value


class IncidentsConnector(_CsvConnector):
    """A PagerDuty/Opsgenie-style incident export."""

    type = "incidents"
    Config = IncidentsConfig
    config: IncidentsConfig

    def read(self, cursor: Cursor | None) -> Reader:
        """Every incident of the file when it changed since the last sync (resolutions update rows by id)."""
        got = self._rows(cursor)
        if got is None:
            return cursor
        rows, header, digest, path = got
        cfg = self.config
        preset = _PRESETS[cfg.format]
        cols = {f: _pick(header, cfg.columns.get(f), preset.get(f, ()), f, path) for f in _PRESETS["generic"]}
        for need in ("id", "opened_at"):
            if cols[need] is None:
                raise ConnectorError(
                    f"{path}: no {need} column found; name it with connectors.{self.name}.columns.{need}"
                )
        if cols["service"] is None and cfg.service is None:
            raise ConnectorError(f"{path}: no service column; set connectors.{self.name}.service or columns.service")
        out = []
        for row in rows:

            def get(field: str, row: dict[str, str] = row) -> str | None:
                col = cols[field]
                return (row.get(col) or None) if col else None

            service = get("service") or cfg.service or ""
            service = cfg.services.get(service, service)
            out.append(
                {
                    "id": f"{cfg.id_prefix}{get('id') or ''}",
                    "service": service,
                    "team": get("team"),
                    "severity": get("severity"),
                    "opened_at": self._time(get("opened_at") or ""),
                    "resolved_at": self._time(get("resolved_at") or "") or None,
                    "caused_by_deployment": get("caused_by_deployment"),
                }
            )
        yield Batch("incidents", out)
        return {"sha256": digest}
