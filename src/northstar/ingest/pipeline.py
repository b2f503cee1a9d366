"""ingest_files / ingest_records: read every input, validate it, then load all of it in one transaction.

Nothing half-loads: every path of a call is read and validated before the store is touched; then the good
rows of all inputs are upserted (and, with `on_error="quarantine"`, the bad rows kept aside) in a single
transaction. Under `on_error="reject"` one bad row rejects the call and the store is unchanged.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from northstar.ingest.errors import IngestError, IngestRejected, IngestResult, Problem
from northstar.ingest.privacy import PSEUDONYMIZED, hmac_sql
from northstar.ingest.sources import Source, detect_format, gunzip, read_csv, read_jsonl, read_parquet, read_records
from northstar.ingest.validate import Validated, validate_batch
from northstar.records import COLUMNS, KINDS
from northstar.store import Store, quote

__all__ = ["OnError", "ingest_files", "ingest_records"]

OnError = Literal["reject", "quarantine"]
_SHOW_PROGRESS_BYTES = 16 << 20


def _check_call(kind: str, on_error: str) -> None:
    if kind not in KINDS:
        raise IngestError(f"unknown kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    if on_error not in ("reject", "quarantine"):
        raise IngestError(f"on_error must be 'reject' or 'quarantine', not {on_error!r}")


def _finisher(store: Store, kind: str, pseudonymize: bool, key: str | None) -> Callable[[str, str], str] | None:
    fields = PSEUDONYMIZED.get(kind, ())
    if not pseudonymize or not fields:
        return None
    secret = store.pseudonym_key(key)
    return lambda name, sql: hmac_sql(secret, sql) if name in fields else sql


class _Progress:
    """A Rich progress bar on stderr, per file, when the terminal shows it and the input is large."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
        self.task: Any = None
        self.total = 1

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def file(self, name: str, size: int) -> None:
        if self.bar is not None:
            self.total = max(size, 1)
            self.task = self.bar.add_task(f"reading {name}", total=self.total)

    def step(self, description: str, fraction: float | None = None) -> None:
        if self.bar is not None and self.task is not None:
            done = None if fraction is None else self.total * fraction
            self.bar.update(self.task, description=description, completed=done)

    def advance(self, amount: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, amount)


def _show(progress: bool | None, total_bytes: int) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and total_bytes >= _SHOW_PROGRESS_BYTES


@contextmanager
def _temp_objects(store: Store) -> Iterator[list[tuple[str, str]]]:
    made: list[tuple[str, str]] = []
    try:
        yield made
    finally:
        for what, name in reversed(made):
            with suppress(Exception):  # a failed transaction may already have dropped it
                if what == "ARROW":
                    store.con.unregister(name)
                else:
                    store.con.execute(f"DROP {what} IF EXISTS {name}")


def _problems(source: Source, validated: Validated) -> list[Problem]:
    found = source.locate([rec for rec, _, _ in validated.bad]) if validated.bad else {}
    out = list(source.problems)
    for rec, fld, reason in validated.bad:
        line, raw = found.get(rec, (None, None))
        if line is None and source.unit != "line":
            line = rec + 1 if source.unit == "row" else rec
        out.append(Problem(source.display, line, fld, reason, raw, unit=source.unit))
    out.sort(key=lambda p: (p.line is None, p.line or 0))
    return out


def _load(
    store: Store,
    kind: str,
    inputs: list[tuple[Source, Validated]],
    on_error: OnError,
    progress: _Progress,
) -> IngestResult:
    problems = [p for source, validated in inputs for p in _problems(source, validated)]
    result = IngestResult(kind=kind, files=0, rows=sum(v.rows + len(s.problems) for s, v in inputs))
    if problems and on_error == "reject":
        raise IngestRejected(kind, problems)
    cols = ", ".join(quote(c.name) for c in COLUMNS[kind])
    union = " UNION ALL ".join(
        f"SELECT CAST({i << 40} AS BIGINT) + _rec AS _ord, {cols} FROM {v.good}" for i, (_, v) in enumerate(inputs)
    )
    store.con.execute(f"CREATE OR REPLACE TEMP VIEW _ns_stage AS {union}")
    progress.step("loading into the store")
    try:
        with store.transaction():
            upserted = store.upsert_relation(kind, "_ns_stage", order_column="_ord")
            if problems:
                store.add_quarantine(_quarantine_table(kind, problems))
    finally:
        store.con.execute("DROP VIEW IF EXISTS _ns_stage")
    result.inserted, result.updated, result.unchanged = upserted.inserted, upserted.updated, upserted.unchanged
    result.quarantined = len(problems)
    result.problems = problems
    return result


def _quarantine_table(kind: str, problems: Sequence[Problem]) -> pa.Table:
    return pa.table(
        {
            "kind": pa.array([kind] * len(problems), pa.string()),
            "path": pa.array([p.path for p in problems], pa.string()),
            "line": pa.array([p.line for p in problems], pa.int64()),
            "field": pa.array([p.field for p in problems], pa.string()),
            "reason": pa.array([p.reason for p in problems], pa.string()),
            "raw": pa.array([p.raw for p in problems], pa.string()),
        }
    )


def ingest_files(
    store: Store,
    kind: str,
    paths: Sequence[str | Path],
    *,
    on_error: OnError = "reject",
    pseudonymize: bool = False,
    key: str | None = None,
    progress: bool | None = None,
) -> IngestResult:
    """Load CSV, JSON Lines or Parquet files (each optionally .gz) of one record kind, all or nothing.

    Raises `IngestError` for an input that cannot be read at all and `IngestRejected` (with every bad row)
    when `on_error="reject"` and a row is invalid; in both cases the store is unchanged. `progress=None`
    shows a progress bar when stderr is a terminal and the input is large."""
    started = time.perf_counter()
    _check_call(kind, on_error)
    files = [Path(p) for p in paths]
    if not files:
        raise IngestError("no input files given")
    for f in files:
        if not f.exists():
            raise IngestError(f"{f}: no such file")
        if f.is_dir():
            raise IngestError(f"{f}: is a folder; give the files in it (e.g. {f}/*.csv)")
    formats = [detect_format(f) for f in files]
    finish = _finisher(store, kind, pseudonymize, key)
    sizes = [f.stat().st_size for f in files]
    with ExitStack() as stack:
        bar = stack.enter_context(_Progress(_show(progress, sum(sizes))))
        temp = stack.enter_context(_temp_objects(store))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="northstar-ingest-")))
        inputs = []
        for i, (f, (fmt, gz), size) in enumerate(zip(files, formats, sizes, strict=True)):
            display, prefix = str(f), f"_ns_in{i}"
            bar.file(f.name, size)
            if fmt == "jsonl":
                source = read_jsonl(store.con, kind, f, gz, display, prefix, advance=bar.advance)
            else:
                plain = gunzip(f, folder, str(i)) if gz else f
                bar.step(f"reading {f.name}", 0.1)
                reader = read_csv if fmt == "csv" else read_parquet
                source = reader(store.con, kind, plain, display, prefix)
            temp += source.temp
            bar.step(f"validating {f.name}", 0.6)
            validated = validate_batch(store.con, kind, source.batch, prefix, finish)
            temp += validated.temp
            bar.step(f"checked {f.name}", 1.0)
            inputs.append((source, validated))
        result = _load(store, kind, inputs, on_error, bar)
    result.files = len(files)
    result.seconds = time.perf_counter() - started
    return result


def ingest_records(
    store: Store,
    kind: str,
    rows: Iterable[Any],
    *,
    on_error: OnError = "reject",
    source: str = "api",
    pseudonymize: bool = False,
    key: str | None = None,
) -> IngestResult:
    """Load a batch of records (dicts, as from JSON) with the same validation; a row's line is its index."""
    started = time.perf_counter()
    _check_call(kind, on_error)
    finish = _finisher(store, kind, pseudonymize, key)
    with _temp_objects(store) as temp:
        read = read_records(store.con, kind, rows, source, "_ns_api")
        temp += read.temp
        validated = validate_batch(store.con, kind, read.batch, "_ns_api", finish)
        temp += validated.temp
        result = _load(store, kind, [(read, validated)], on_error, _Progress(False))
    result.seconds = time.perf_counter() - started
    return result
