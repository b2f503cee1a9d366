"""schemathesis against the OpenAPI document: generated requests never make a server error, and responses
match the document (status codes, content types, schemas)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from northstar.ingest import ingest_records  # noqa: E402
from northstar.server import ServerState, create_app  # noqa: E402
from northstar.server.auth import create_token  # noqa: E402
from tests.server.conftest import activity  # noqa: E402

# The schema is loaded at import (the pytest plugin needs it to parametrize); the store is closed at teardown.
_FOLDER = Path(tempfile.mkdtemp(prefix="northstar-st-"))
_STATE = ServerState.open(_FOLDER / "st.duckdb", max_body=256 << 10)
_ADMIN = create_token(_STATE.store.con, "schemathesis", ["admin"])[0]
ingest_records(_STATE.store, "activity", [activity(i) for i in range(20)])
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_STATE, close_on_shutdown=False))


@pytest.fixture(scope="module", autouse=True)
def _close_store() -> Iterator[None]:
    from northstar.server import dashboard

    builder, dashboard.report_builder = dashboard.report_builder, lambda: None  # the report has its own tests
    yield
    dashboard.report_builder = builder
    _STATE.close()
    shutil.rmtree(_FOLDER, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: Any) -> None:
    if case.path == "/v1/metrics" and isinstance(case.query, dict) and not case.query.get("name"):
        # every metric of the catalog takes ~10 s on this machine; one named metric keeps the run bounded
        case.query["name"] = ["active_teams"]
    case.call_and_validate(
        timeout=120,
        headers={"Authorization": f"Bearer {_ADMIN}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
