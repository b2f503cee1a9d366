"""The canonical record kinds of DESIGN.md §2: the contract for files, the HTTP API and the store.

Each kind is a pydantic model. `COLUMNS[kind]` is derived from the model and drives storage types and the
columnar (bulk) validator in `northstar.ingest.validate`; the two must agree (a property test checks it).
Timestamps without an offset are UTC; every timestamp is stored as naive UTC.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "COLUMNS",
    "KINDS",
    "MODELS",
    "Column",
    "RecordError",
    "parse_le",
    "parse_timestamp",
    "validate_record",
]


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 text, epoch-free: an offset is converted to UTC; no offset means UTC. Returns naive UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty timestamp")
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from None
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"timestamp out of range in UTC: {value!r}") from None
    return dt


def _ts(value: Any) -> Any:
    return None if value is None or value == "" else parse_timestamp(value)


def _opt_date(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10]) if len(value.strip()) >= 10 else date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not an ISO-8601 date: {value!r}") from None
    return value


def _json_text(value: Any) -> Any:
    """Objects and lists may arrive as JSON text (CSV cells) or as structures (JSONL, API)."""
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    return value


def _empty_none(value: Any) -> Any:
    return None if value == "" else value


def parse_le(key: str) -> float:
    """A histogram bucket's upper bound (Prometheus `le`): a number or `+Inf`."""
    k = str(key).strip()
    if k in {"+Inf", "Inf", "inf", "+inf"}:
        return math.inf
    v = float(k)
    if math.isnan(v):
        raise ValueError("NaN bucket bound")
    return v


Timestamp = Annotated[datetime, BeforeValidator(_ts)]
OptTimestamp = Annotated[datetime | None, BeforeValidator(_ts)]
OptDate = Annotated[date | None, BeforeValidator(_opt_date)]
Id = Annotated[str, Field(min_length=1)]
OptStr = Annotated[str | None, BeforeValidator(_empty_none)]
OptInt = Annotated[int | None, BeforeValidator(_empty_none)]
OptFloat = Annotated[float | None, BeforeValidator(_empty_none)]
StrList = Annotated[list[str], BeforeValidator(_json_text)]
OptStrList = Annotated[list[str] | None, BeforeValidator(_json_text)]
JsonObject = Annotated[dict[str, Any] | None, BeforeValidator(_json_text)]


class Record(BaseModel):
    """Base of every record kind: forbids unknown fields so typos are reported, not dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Id


class Team(Record):
    """A team: the default unit of adoption."""

    name: OptStr = None
    headcount: Annotated[int | None, Field(ge=0), BeforeValidator(_empty_none)] = None
    eligible_from: OptDate = None


class Person(Record):
    """A person on a team. Roles: practitioner (default), platform_owner, other."""

    team: Id
    role: Literal["practitioner", "platform_owner", "other"] = "practitioner"
    joined_at: OptDate = None

    @field_validator("role", mode="before")
    @classmethod
    def _default_role(cls, v: Any) -> Any:
        return "practitioner" if v is None or v == "" else v


class Component(Record):
    """A component of the platform, declared with its stack layer (0 hardware … 4 platform)."""

    name: OptStr = None
    layer: Annotated[int, Field(ge=0, le=4)]
    category: OptStr = None
    launched_at: OptDate = None
    activation_actions: OptStrList = None


class Activity(Record):
    """One use of a platform component by a person."""

    ts: Timestamp
    actor: Id
    team: OptStr = None
    component: Id
    action: Id
    properties: JsonObject = None


class Change(Record):
    """A change that can be deployed: a commit, a model version, a data or config change."""

    service: Id
    team: OptStr = None
    kind: Literal["code", "model", "data", "config"] = "code"
    created_at: Timestamp

    @field_validator("kind", mode="before")
    @classmethod
    def _default_kind(cls, v: Any) -> Any:
        return "code" if v is None or v == "" else v


class Deployment(Record):
    """A deployment of a service to an environment."""

    service: Id
    team: OptStr = None
    environment: str = "production"
    status: Literal["succeeded", "failed", "rolled_back"]
    started_at: OptTimestamp = None
    finished_at: Timestamp
    change_ids: OptStrList = None
    model_version: OptStr = None
    model_ready_at: OptTimestamp = None
    manual_steps: Annotated[int | None, Field(ge=0), BeforeValidator(_empty_none)] = None

    @field_validator("environment", mode="before")
    @classmethod
    def _default_env(cls, v: Any) -> Any:
        return "production" if v is None or v == "" else v

    @model_validator(mode="after")
    def _ordered(self) -> Deployment:
        if self.started_at is not None and self.started_at > self.finished_at:
            raise ValueError("finished_at: is before started_at")
        return self


class Incident(Record):
    """An incident on a service, optionally caused by a deployment."""

    service: Id
    team: OptStr = None
    severity: OptStr = None
    opened_at: Timestamp
    resolved_at: OptTimestamp = None
    caused_by_deployment: OptStr = None

    @model_validator(mode="after")
    def _ordered(self) -> Incident:
        if self.resolved_at is not None and self.resolved_at < self.opened_at:
            raise ValueError("resolved_at: is before opened_at")
        return self


class ServiceSample(Record):
    """Traffic of a service over one interval starting at `ts`; latency as a cumulative histogram."""

    service: Id
    ts: Timestamp
    interval_s: Annotated[float, Field(gt=0)] = 60.0
    requests: Annotated[float, Field(ge=0)]
    errors: Annotated[float, Field(ge=0)]
    latency_buckets: JsonObject = None
    cpu_util: Annotated[float | None, Field(ge=0, le=1), BeforeValidator(_empty_none)] = None
    memory_util: Annotated[float | None, Field(ge=0, le=1), BeforeValidator(_empty_none)] = None

    @field_validator("interval_s", mode="before")
    @classmethod
    def _default_interval(cls, v: Any) -> Any:
        return 60.0 if v is None or v == "" else v

    @field_validator("latency_buckets")
    @classmethod
    def _buckets(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return None
        pairs: list[tuple[float, float]] = []
        for key, count in v.items():
            try:
                le = parse_le(key)
            except ValueError:
                raise ValueError(f"bucket bound {key!r} is not a number or +Inf") from None
            if isinstance(count, bool) or not isinstance(count, int | float) or count < 0:
                raise ValueError(f"bucket {key!r} count must be a non-negative number")
            pairs.append((le, float(count)))
        pairs.sort()
        for (_, a), (le, b) in pairwise(pairs):
            if b < a:
                raise ValueError(f"bucket counts are not cumulative at le={le}")
        return v

    @model_validator(mode="after")
    def _errors_le_requests(self) -> ServiceSample:
        if self.errors > self.requests:
            raise ValueError("errors: exceeds requests")
        return self


_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "likert5": (1, 5), "likert7": (1, 7)}
SCALES = _SCALES


class SurveyResponse(Record):
    """One answer to one survey question on a fixed scale."""

    ts: Timestamp
    survey: Id
    question: Id
    score: float
    scale: Literal["nps", "likert5", "likert7"]
    respondent: OptStr = None
    team: OptStr = None
    dimension: Literal["satisfaction", "performance", "activity", "communication", "efficiency"] | None = None

    @field_validator("dimension", mode="before")
    @classmethod
    def _dim(cls, v: Any) -> Any:
        return None if v == "" else v

    @model_validator(mode="after")
    def _in_scale(self) -> SurveyResponse:
        lo, hi = _SCALES[self.scale]
        if not lo <= self.score <= hi:
            raise ValueError(f"score: {self.score:g} is outside the {self.scale} scale {lo}–{hi}")
        return self


class SupportMessage(Record):
    """A message in a support channel; replies carry their thread root's id."""

    ts: Timestamp
    channel: Id
    author: Id
    thread_id: OptStr = None
    is_bot: bool = False

    @field_validator("is_bot", mode="before")
    @classmethod
    def _bot(cls, v: Any) -> Any:
        return False if v is None or v == "" else v


class Feature(Record):
    """A feature in the feature store."""

    name: OptStr = None
    owner: OptStr = None
    created_at: OptTimestamp = None
    source_kind: Literal["batch", "stream"] | None = None
    last_materialized_at: OptTimestamp = None

    @field_validator("source_kind", mode="before")
    @classmethod
    def _sk(cls, v: Any) -> Any:
        return None if v == "" else v


class FeatureUsage(Record):
    """A consumer (model or service) of a feature."""

    feature: Id
    consumer: Id
    team: OptStr = None
    since: OptTimestamp = None


MODELS: dict[str, type[Record]] = {
    "teams": Team,
    "people": Person,
    "components": Component,
    "activity": Activity,
    "changes": Change,
    "deployments": Deployment,
    "incidents": Incident,
    "service_samples": ServiceSample,
    "survey_responses": SurveyResponse,
    "support_messages": SupportMessage,
    "features": Feature,
    "feature_usage": FeatureUsage,
}
KINDS: tuple[str, ...] = tuple(MODELS)


@dataclass(frozen=True)
class Column:
    """One field of a record kind, as the store and the bulk validator see it."""

    name: str
    type: Literal["string", "int", "float", "bool", "timestamp", "date", "string_list", "json"]
    required: bool
    default: Any
    choices: tuple[str, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    description: str = ""


_BASE_TYPES: dict[Any, str] = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    datetime: "timestamp",
    date: "date",
}


def _column_type(annotation: Any) -> tuple[str, tuple[str, ...] | None]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _column_type(get_args(annotation)[0])
    if origin is Literal:
        return "string", tuple(str(a) for a in get_args(annotation))
    if origin is list:
        return "string_list", None
    if origin is dict:
        return "json", None
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args and origin is not None:
        kinds = [_column_type(a) for a in args]
        return kinds[0]
    return _BASE_TYPES[annotation], None


def _bounds(metadata: list[Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in metadata:
        for attr in ("ge", "gt", "le"):
            val = getattr(m, attr, None)
            if val is not None:
                out[attr] = float(val)
    return out


def _columns(model: type[Record]) -> tuple[Column, ...]:
    cols = []
    for name, info in model.model_fields.items():
        ctype, choices = _column_type(info.annotation)
        bounds = _bounds(list(info.metadata))
        default = None if info.is_required() else info.default
        cols.append(
            Column(
                name=name,
                type=ctype,  # type: ignore[arg-type]
                required=info.is_required(),
                default=default,
                choices=choices,
                description=info.description or "",
                **bounds,
            )
        )
    return tuple(cols)


COLUMNS: dict[str, tuple[Column, ...]] = {kind: _columns(model) for kind, model in MODELS.items()}


class RecordError(ValueError):
    """A record that does not match its kind: `field` names the culprit, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def validate_record(kind: str, data: dict[str, Any]) -> Record:
    """Validate one record; raise RecordError naming the first bad field."""
    model = MODELS[kind]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if not err["loc"] and ": " in msg:
            field, _, msg = msg.partition(": ")
            loc = field
        raise RecordError(loc, msg) from None
