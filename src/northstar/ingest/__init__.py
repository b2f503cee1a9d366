"""File and API ingestion: CSV, JSON Lines and Parquet (optionally gzipped) → validated records → the store.

from northstar.store import Store
from northstar.ingest import ingest_files

with Store.open("northstar.duckdb") as store:
    result = ingest_files(store, "activity", ["events.csv.gz"], on_error="quarantine")
    print(result.summary())
"""

from __future__ import annotations

from northstar.ingest.errors import IngestError, IngestRejected, IngestResult, Problem
from northstar.ingest.pipeline import OnError, ingest_files, ingest_records
from northstar.ingest.privacy import PSEUDONYMIZED, pseudonym

__all__ = [
    "PSEUDONYMIZED",
    "IngestError",
    "IngestRejected",
    "IngestResult",
    "OnError",
    "Problem",
    "ingest_files",
    "ingest_records",
    "pseudonym",
]
