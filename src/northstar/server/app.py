"""`create_app`: the FastAPI application of `northstar serve` (ingest, read, tokens, /metrics, webhooks).

Every route needs a bearer token with its scope (`ingest`, `read`, `admin`), except `/healthz` and the
webhook receivers, which check their provider's signature instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from northstar import __version__
from northstar.records import KINDS
from northstar.server import auth
from northstar.server.read import ReadError, assessment_document, check_document, metrics_document
from northstar.server.state import ServerState

__all__ = ["create_app", "read_body"]

log = logging.getLogger("northstar.server")
_bearer = HTTPBearer(auto_error=False, description="A token from `northstar token create --scope …`.")


# -- models (they are the OpenAPI document) ---------------------------------------------------------------
class IngestResponse(BaseModel):
    """What one batch did: every record was validated and committed in one transaction."""

    kind: str
    received: int = Field(description="Records in the batch.")
    inserted: int = Field(description="Records new to the store.")
    updated: int = Field(description="Records whose id existed with other values (replaced).")
    unchanged: int = Field(description="Records identical to the stored copy (a retry).")


class RecordProblem(BaseModel):
    index: int | None = Field(description="0-based position of the record in the batch.")
    field: str
    reason: str
    message: str = Field(description="`index: field: reason`")


class Rejected(BaseModel):
    """The batch was rejected and nothing was stored."""

    detail: str
    errors: list[RecordProblem]


class Problem(BaseModel):
    detail: str


class MetricsResponse(BaseModel):
    """The shape of `northstar metrics --format json`."""

    rows: list[dict[str, Any]]
    warnings: list[str]


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Literal["ingest", "read", "admin"]] = Field(min_length=1)


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: str
    revoked_at: str | None
    active: bool


class NewToken(TokenOut):
    token: str = Field(description="The secret, shown once; only its sha256 is stored.")


_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, unknown or revoked token."},
    403: {"model": Problem, "description": "The token lacks the scope."},
}
_BAD_QUERY: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "A query the catalog cannot answer."}
}


KindPath = Annotated[str, Path(description="The record kind (DESIGN.md §2).", json_schema_extra={"enum": list(KINDS)})]
Period = Literal["day", "week", "month", "quarter"]
By = Literal["team", "component", "service"]
Unit = Literal["team", "user"]


# -- auth -------------------------------------------------------------------------------------------------
def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.northstar
    return state


def require(scope: str) -> Callable[..., Any]:
    """A dependency: the request carries an active bearer token with `scope` (401 / 403 otherwise)."""

    def check(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        state = _state(request)
        with state.cursor() as cur:
            scopes = auth.verify_token(cur, credentials.credentials)
        if scopes is None:
            raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        if scope not in scopes:
            raise HTTPException(403, f"this token lacks the {scope!r} scope")

    return check


# -- body -------------------------------------------------------------------------------------------------
async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 beyond `limit` bytes (by Content-Length or while streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body exceeds the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_records(body: bytes, content_type: str) -> list[Any]:
    """A JSON array, or NDJSON (one JSON value per line; chosen by content type or by the first byte)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    ctype = content_type.split(";")[0].strip().lower()
    if any(t in ctype for t in ("ndjson", "jsonl", "json-seq")):
        ndjson = True
    elif ctype.endswith("json"):
        ndjson = False
    else:  # no (or another) content type: an array if it looks like one
        ndjson = not text.lstrip().startswith("[")
    if not ndjson:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(data, list):
            raise HTTPException(400, "expected a JSON array of records (or NDJSON, one record per line)")
        return data
    rows: list[Any] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"invalid NDJSON at line {number} column {exc.colno}: {exc.msg}") from None
    return rows


def _ingest(state: ServerState, kind: str, rows: list[Any]) -> IngestResponse | JSONResponse:
    from northstar.ingest import IngestError, IngestRejected, ingest_records

    privacy = state.settings.privacy
    with state.write_lock:
        try:
            result = ingest_records(
                state.store, kind, rows, source="api", pseudonymize=privacy.pseudonymize, key=privacy.key
            )
        except IngestRejected as exc:
            errors = [
                RecordProblem(index=p.line, field=p.field, reason=p.reason, message=f"{p.line}: {p.field}: {p.reason}")
                for p in exc.problems
            ]
            n = len(errors)
            detail = f"{kind}: {n} bad record{'s' if n != 1 else ''}; nothing was stored"
            return JSONResponse(Rejected(detail=detail, errors=errors).model_dump(), status_code=422)
        except IngestError as exc:
            raise HTTPException(400, str(exc)) from None
    return IngestResponse(
        kind=kind, received=len(rows), inserted=result.inserted, updated=result.updated, unchanged=result.unchanged
    )


# -- the app ----------------------------------------------------------------------------------------------
def create_app(state: ServerState, *, close_on_shutdown: bool = True) -> FastAPI:
    """The API around an open `ServerState` (closed when the app shuts down, unless told otherwise)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            state.close()

    app = FastAPI(
        title="northstar",
        version=__version__,
        description="Ingest records, read metrics, the assessment and the check of an ML platform (MPAF).",
        lifespan=lifespan,
    )
    app.state.northstar = state

    @app.get("/healthz", tags=["meta"], responses={200: {"description": "The server is up."}})
    def healthz() -> dict[str, str]:
        """Liveness: no token needed, tells nothing about the data."""
        return {"status": "ok", "version": __version__}

    @app.post(
        "/v1/records/{kind}",
        tags=["ingest"],
        dependencies=[Depends(require("ingest"))],
        response_model=IngestResponse,
        responses={
            **_AUTH_ERRORS,
            400: {"model": Problem, "description": "The body is not a JSON array or NDJSON."},
            404: {"model": Problem, "description": "Unknown record kind."},
            413: {"model": Problem, "description": "The body is larger than the server's limit."},
            422: {"model": Rejected, "description": "Invalid records: `index: field: reason`; nothing stored."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def ingest(kind: KindPath, request: Request) -> Any:
        """Validate and store a batch of records of one kind, all or nothing, idempotently by `id`.

        The body is a JSON array of records, or NDJSON (`Content-Type: application/x-ndjson`). The
        response comes after the commit: an acknowledged record is stored. Retrying a batch is safe."""
        if kind not in KINDS:
            raise HTTPException(404, f"unknown kind {kind!r}; the kinds are: {', '.join(KINDS)}")
        body = await read_body(request, state.max_body)
        rows = parse_records(body, request.headers.get("content-type", ""))
        return await run_in_threadpool(_ingest, state, str(kind), rows)

    @app.get(
        "/v1/metrics",
        tags=["read"],
        dependencies=[Depends(require("read"))],
        response_model=MetricsResponse,
        responses={**_AUTH_ERRORS, **_BAD_QUERY},
    )
    def metrics(
        name: Annotated[list[str] | None, Query(description="Metric names (repeat; default: every metric).")] = None,
        category: Annotated[str | None, Query(description="Only this category.")] = None,
        period: Annotated[Period, Query(description="The period grid (UTC; ISO weeks).")] = "week",
        by: Annotated[By | None, Query(description="Breakdown.")] = None,
        since: Annotated[date | None, Query(description="Window start (inclusive).")] = None,
        until: Annotated[date | None, Query(description="Window end (exclusive).")] = None,
        unit: Annotated[Unit | None, Query(description="Unit for adoption metrics.")] = None,
    ) -> Any:
        """Metric values per period (and group): the same as `northstar metrics --format json`."""
        try:
            return metrics_document(
                state, name, category=category, period=period, by=by, since=since, until=until, unit=unit
            )
        except ReadError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get(
        "/v1/assessment",
        tags=["read"],
        dependencies=[Depends(require("read"))],
        responses={**_AUTH_ERRORS, **_BAD_QUERY},
    )
    def assessment(
        until: Annotated[date | None, Query(description="End (exclusive) of the window; default: end of data.")] = None,
    ) -> dict[str, Any]:
        """Declared vs measured layer, Step 1B, behaviours, North Star candidates (`northstar assess`)."""
        return assessment_document(state, until)

    @app.get(
        "/v1/check",
        tags=["read"],
        dependencies=[Depends(require("read"))],
        responses={**_AUTH_ERRORS, **_BAD_QUERY},
    )
    def check(
        as_of: Annotated[date | None, Query(description="Judge as of this day (exclusive).")] = None,
        strict: Annotated[bool, Query(description="Lint errors also make exit_code 1.")] = False,
    ) -> dict[str, Any]:
        """North Star, inputs, KPIs, OKRs and lint (`northstar check`); `exit_code` is what the CLI exits."""
        try:
            return check_document(state, as_of, strict)
        except ReadError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/v1/tokens", tags=["admin"], dependencies=[Depends(require("admin"))], responses=_AUTH_ERRORS)
    def tokens() -> list[TokenOut]:
        """Every token (never its secret)."""
        with state.cursor() as cur:
            return [TokenOut(**t.to_dict()) for t in auth.list_tokens(cur)]

    @app.post("/v1/tokens", tags=["admin"], dependencies=[Depends(require("admin"))], responses=_AUTH_ERRORS)
    def new_token(body: TokenRequest) -> NewToken:
        """Create a token; its secret is in this response only."""
        with state.write_lock:
            token, info = auth.create_token(state.store.con, body.name, body.scopes)
        return NewToken(token=token, **info.to_dict())

    @app.delete(
        "/v1/tokens/{token_id}",
        tags=["admin"],
        dependencies=[Depends(require("admin"))],
        responses={**_AUTH_ERRORS, 404: {"model": Problem, "description": "No such token."}},
    )
    def revoke(token_id: str) -> TokenOut:
        """Revoke a token: it is refused from the next request on."""
        with state.write_lock:
            try:
                info = auth.revoke_token(state.store.con, token_id)
            except auth.TokenError as exc:
                raise HTTPException(404, str(exc)) from None
        return TokenOut(**info.to_dict())

    _mount_extras(app, state)
    return app


def _mount_extras(app: FastAPI, state: ServerState) -> None:
    """/metrics (Prometheus), webhooks and the dashboard, when their modules are present."""
    import importlib

    for name in ("prometheus", "webhooks", "dashboard"):
        try:
            module = importlib.import_module(f"northstar.server.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"northstar.server.{name}":
                raise
            continue
        module.mount(app, state, require)
