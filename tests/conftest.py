"""Shared fixtures: one `backend` fixture runs every metric test on DuckDB and on Spark."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("PYSPARK_PYTHON", shutil.which("python") or "python")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local Spark session per test run (a session takes ~5 s to start)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Spark tests need Java 17+: .ci/run installs it (apt-get install openjdk-17-jre-headless)")
    from northstar.engines import spark_session as make

    session = make()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", "spark"])
def backend(request: pytest.FixtureRequest) -> Any:
    """An empty Ibis backend: DuckDB in memory, or Spark on the shared session."""
    from northstar.engines import connect_duckdb, connect_spark

    if request.param == "duckdb":
        return connect_duckdb()
    return connect_spark(request.getfixturevalue("spark_session"))
