"""The store: one DuckDB file holding the canonical tables, opened through Ibis so metrics run on it directly.

- Tables are named as the record kinds (`schema.ALL_TABLES`), plus `meta` (schema version, pseudonymisation
  key), `quarantine` (rows kept aside by `--on-error quarantine`) and `cursors` (connector positions).
- `upsert` is idempotent by `id` and set-based: the batch is staged, compared with the table by joins, and
  only new or changed rows are written. One call is one transaction, so a killed process leaves the store
  as it was (DuckDB's write-ahead log gives atomic commits).
- DuckDB allows one writing process per file: `Store.open` waits up to `lock_timeout` for another northstar
  process to finish, then raises `StoreLocked`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from northstar import derived
from northstar.records import COLUMNS, KINDS
from northstar.schema import ALL_TABLES, DERIVED, DERIVED_FROM, SQL_TYPES, arrow_schema

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "StoreLocked",
    "UpsertResult",
    "quote",
]


class StoreError(Exception):
    """The store cannot be opened or used (not a DuckDB file, newer schema, …)."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock."""

    def __init__(self, path: Path, pid: int | None, waited: float) -> None:
        who = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            f"the store {path} is in use by another northstar process{who}; "
            f"waited {waited:g} s; retry later or raise --lock-timeout"
        )
        self.path = path
        self.pid = pid


@dataclass(frozen=True)
class UpsertResult:
    """What one upsert did: rows new to the store, rows replaced by a different copy, identical rows."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


_ARROW_SQL: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us"): "TIMESTAMP",
    pa.date32(): "DATE",
    pa.list_(pa.string()): "VARCHAR[]",
}


def _table_ddl(name: str) -> str:
    if name in KINDS:
        cols = [f"{quote(c.name)} {SQL_TYPES[c.type]}" for c in COLUMNS[name]]
    else:
        cols = [f"{quote(f.name)} {_ARROW_SQL[f.type]}" for f in DERIVED[name]]
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({', '.join(cols)})"


QUARANTINE_COLUMNS = ("kind", "path", "line", "field", "reason", "raw", "quarantined_at")


def _v1_initial(con: duckdb.DuckDBPyConnection) -> None:
    """Version 1: the canonical and derived tables, quarantine and cursors."""
    for name in ALL_TABLES:
        con.execute(_table_ddl(name))
    con.execute(
        "CREATE TABLE IF NOT EXISTS quarantine (kind VARCHAR NOT NULL, path VARCHAR, line BIGINT, field VARCHAR, "
        "reason VARCHAR, raw VARCHAR, quarantined_at TIMESTAMP NOT NULL)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS cursors (source VARCHAR PRIMARY KEY, value VARCHAR, updated_at TIMESTAMP NOT NULL)"
    )


def _build_derived(con: duckdb.DuckDBPyConnection, create: Sequence[str] = tuple(DERIVED)) -> None:
    """Create the derived tables `create` (when missing) and rebuild every derived table from the records."""
    for name in create:
        con.execute(_table_ddl(name))
    derived.rebuild_all(con)


def _v2_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Version 2: the activity rollups and `latency_daily`, and `latency_buckets` with the implied `+Inf`
    bucket; every derived table is rebuilt from the canonical tables."""
    _build_derived(con)


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_v1_initial, _v2_rollups]
"""Applied in order; the schema version of a store is the number applied. Append, never edit a released one
(a new column: `ALTER TABLE … ADD COLUMN IF NOT EXISTS …` in a new function)."""
SCHEMA_VERSION = len(MIGRATIONS)

_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def _connect(path: Path | None, read_only: bool, lock_timeout: float) -> Any:
    target = ":memory:" if path is None else str(path)
    start = time.monotonic()
    delay = 0.05
    while True:
        try:
            return ibis.duckdb.connect(target, read_only=read_only)
        except duckdb.Error as exc:
            text = str(exc)
            assert path is not None  # an in-memory database is never locked
            if "lock" not in text.lower():
                if read_only and not path.exists():
                    raise StoreError(f"no store at {path}: load data first with `northstar ingest`") from None
                raise StoreError(f"cannot open the store {path}: {text.splitlines()[0]}") from None
            waited = time.monotonic() - start
            if waited >= lock_timeout:
                m = _LOCK_PID.search(text)
                raise StoreLocked(path, int(m.group(1)) if m else None, round(waited, 1)) from None
            time.sleep(min(delay, max(lock_timeout - waited, 0.01)))
            delay = min(delay * 2, 0.5)


class Store:
    """A northstar store. Use `Store.open(path)`; `store.ibis` is the Ibis backend the metrics run on."""

    def __init__(self, backend: Any, path: Path | None, read_only: bool) -> None:
        self.ibis = backend
        self.con: duckdb.DuckDBPyConnection = backend.con
        self.path = path
        self.read_only = read_only
        self._tx_depth = 0

    # -- opening -----------------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path = "northstar.duckdb", *, read_only: bool = False, lock_timeout: float = 10.0
    ) -> Store:
        """Open (creating and migrating when writable) the store at `path` (`:memory:` for a scratch one)."""
        p = None if str(path) == ":memory:" else Path(path)
        if p is not None and not read_only and p.parent and not p.parent.exists():
            raise StoreError(f"cannot create the store {p}: the folder {p.parent} does not exist")
        store = cls(_connect(p, read_only, lock_timeout), p, read_only)
        try:
            store.con.execute("SET TimeZone = 'UTC'")
            # files are read as they are now: no cached copy of a file rewritten since (same name, same second)
            store.con.execute("SET enable_external_file_cache = false")
            # DuckDB's own progress bar would write over northstar's Rich output
            store.con.execute("SET enable_progress_bar = false")
            store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} has schema version {version}, newer than this northstar "
                f"({SCHEMA_VERSION}); upgrade northstar"
            )
        if version == SCHEMA_VERSION:
            self._repair_derived()
            return
        if self.read_only:
            raise StoreError(
                f"the store {self.path} has schema version {version}; run `northstar upgrade --db {self.path}` "
                f"to upgrade it to {SCHEMA_VERSION}"
            )
        with self.transaction():
            self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            for migration in MIGRATIONS[version:]:
                migration(self.con)
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def _repair_derived(self) -> None:
        """Build derived tables a store of the current version lacks (e.g. a development build's store made
        before a rollup was added): they are derived data, so they can always be rebuilt from the records."""
        have = self._tables()
        missing = [name for name in DERIVED if name not in have]
        if not missing:
            return
        if self.read_only:
            raise StoreError(
                f"the store {self.path} lacks the derived tables {', '.join(missing)}; run "
                f"`northstar upgrade --db {self.path}` to build them"
            )
        with self.transaction():
            _build_derived(self.con, missing)

    def _tables(self) -> set[str]:
        """The names of the store's tables."""
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database()"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def schema_version(self) -> int:
        """The number of migrations applied (0 for an empty file)."""
        if "meta" not in self._tables():
            return 0
        value = self._get_meta("schema_version")
        return int(value) if value is not None else 0

    def _get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    # -- lifecycle ---------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with suppress(Exception):  # already closed
            self.ibis.disconnect()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path or ':memory:')!r}, read_only={self.read_only})"

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN … COMMIT, or ROLLBACK on any error; nested uses join the outer transaction."""
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield
            finally:
                self._tx_depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._tx_depth = 1
        try:
            yield
        except BaseException:
            self._tx_depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._tx_depth = 0
        self.con.execute("COMMIT")

    # -- reading -----------------------------------------------------------------------------------------
    def table(self, kind: str) -> Any:
        """The Ibis table of a record kind or derived table."""
        if kind not in ALL_TABLES:
            raise KeyError(f"unknown table {kind!r}; known: {', '.join(ALL_TABLES)}")
        return self.ibis.table(kind)

    def counts(self) -> dict[str, int]:
        """Rows per canonical and derived table."""
        sql = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM {quote(name)}" for name in ALL_TABLES)
        return {str(name): int(n) for name, n in self.con.execute(sql).fetchall()}

    # -- writing -----------------------------------------------------------------------------------------
    def upsert(self, kind: str, table: pa.Table) -> UpsertResult:
        """Insert or replace rows of `kind` by id (validated data; duplicate ids in the batch: the last wins)."""
        if kind not in KINDS:
            raise KeyError(f"unknown record kind {kind!r}; known: {', '.join(KINDS)}")
        schema = arrow_schema(kind)
        extra = [n for n in table.column_names if n not in schema.names]
        if extra:
            raise ValueError(f"{kind}: unknown columns {', '.join(extra)}")
        cols = [
            table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
            for f in schema
        ]
        staged = pa.Table.from_arrays(cols, schema=schema)
        if staged.column("id").null_count:
            raise ValueError(f"{kind}: every row needs an id")
        staged = staged.append_column("_ns_ord", pa.array(np.arange(len(staged), dtype=np.int64)))
        name = "_ns_upsert_arrow"
        self.con.register(name, staged)
        try:
            return self.upsert_relation(kind, name, order_column="_ns_ord")
        finally:
            self.con.unregister(name)

    def upsert_relation(self, kind: str, relation: str, *, order_column: str | None = None) -> UpsertResult:
        """Upsert from a table or view in this connection holding `kind`'s columns (ingest stages into one).

        With `order_column`, duplicate ids inside the batch keep the row with the highest order value."""
        cols = arrow_schema(kind).names
        collist = ", ".join(quote(c) for c in cols)
        con = self.con
        with self.transaction():
            batch = relation
            if order_column is not None and self._has_duplicate_ids(relation):
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _ns_batch AS SELECT {collist} FROM {relation} "
                    f"QUALIFY row_number() OVER (PARTITION BY id ORDER BY {quote(order_column)} DESC) = 1"
                )
                batch = "_ns_batch"
            try:
                return self._merge(kind, batch, collist, cols)
            finally:
                con.execute("DROP TABLE IF EXISTS _ns_batch")
                con.execute("DROP TABLE IF EXISTS _ns_match")
                con.execute("DROP TABLE IF EXISTS _ns_removed")

    def _has_duplicate_ids(self, relation: str) -> bool:
        row = self.con.execute(f"SELECT count(*) - count(DISTINCT id) FROM {relation}").fetchone()
        return bool(row and row[0])

    def _merge(self, kind: str, batch: str, collist: str, cols: Sequence[str]) -> UpsertResult:
        con = self.con
        target = quote(kind)
        total = _scalar(con, f"SELECT count(*) FROM {batch}")
        if _scalar(con, f"SELECT count(*) FROM {target}") == 0:
            con.execute(f"INSERT INTO {target} SELECT {collist} FROM {batch}")
            self._derive(kind, batch, removed=None)
            return UpsertResult(inserted=total)
        same = " AND ".join(f"b.{quote(c)} IS NOT DISTINCT FROM t.{quote(c)}" for c in cols if c != "id")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _ns_match AS SELECT b.id, ({same or 'TRUE'}) AS same "
            f"FROM {batch} b JOIN {target} t ON b.id = t.id"
        )
        row = con.execute("SELECT count(*) FILTER (WHERE NOT same), count(*) FILTER (WHERE same) FROM _ns_match")
        updated, unchanged = (int(v) for v in (row.fetchone() or (0, 0)))
        removed = None
        if updated:
            if kind in DERIVED_FROM.values():
                # the old versions, for the derived tables to take out
                removed = "_ns_removed"
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {removed} AS SELECT t.* FROM {target} t "
                    "SEMI JOIN (SELECT id FROM _ns_match WHERE NOT same) m ON t.id = m.id"
                )
            con.execute(f"DELETE FROM {target} WHERE id IN (SELECT id FROM _ns_match WHERE NOT same)")
        if updated or unchanged < total:
            fresh = f"(SELECT b.* FROM {batch} b ANTI JOIN (SELECT id FROM _ns_match WHERE same) m ON b.id = m.id)"
            con.execute(f"INSERT INTO {target} SELECT {collist} FROM {fresh}")
            self._derive(kind, fresh, removed)
        return UpsertResult(inserted=total - updated - unchanged, updated=updated, unchanged=unchanged)

    def _derive(self, kind: str, rows: str, removed: str | None) -> None:
        """Keep the derived tables of `kind` in step: `rows` were written, `removed` holds replaced versions."""
        if kind in DERIVED_FROM.values():
            derived.maintain(self.con, kind, rows, removed)

    # -- quarantine --------------------------------------------------------------------------------------
    def add_quarantine(self, rows: pa.Table) -> int:
        """Keep bad rows aside: `rows` has the columns kind, path, line, field, reason, raw."""
        if not len(rows):
            return 0
        now = pa.array([datetime.now(UTC).replace(tzinfo=None)] * len(rows), pa.timestamp("us"))
        data = rows.select(list(QUARANTINE_COLUMNS[:-1])).append_column("quarantined_at", now)
        self.con.register("_ns_quarantine_in", data)
        try:
            with self.transaction():
                # the same bad row quarantined again replaces its earlier entry
                self.con.execute(
                    "DELETE FROM quarantine q WHERE EXISTS (SELECT 1 FROM _ns_quarantine_in i WHERE "
                    + " AND ".join(f"q.{c} IS NOT DISTINCT FROM i.{c}" for c in QUARANTINE_COLUMNS[:-1])
                    + ")"
                )
                self.con.execute("INSERT INTO quarantine SELECT * FROM _ns_quarantine_in")
        finally:
            self.con.unregister("_ns_quarantine_in")
        return len(rows)

    def quarantined(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The quarantined rows (optionally of one kind), oldest first."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        cur = self.con.execute(
            f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM quarantine {where} ORDER BY quarantined_at, path, line",
            params,
        )
        return [dict(zip(QUARANTINE_COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def clear_quarantine(self, kind: str | None = None) -> int:
        """Delete the quarantined rows (of one kind); returns how many."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        with self.transaction():
            row = self.con.execute(f"SELECT count(*) FROM quarantine {where}", params).fetchone()
            self.con.execute(f"DELETE FROM quarantine {where}", params)
        return int(row[0]) if row else 0

    # -- connector cursors -------------------------------------------------------------------------------
    def get_cursor(self, source: str) -> str | None:
        """The last position a connector saved for `source`, or None."""
        row = self.con.execute("SELECT value FROM cursors WHERE source = ?", [source]).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, source: str, value: str) -> None:
        """Save a connector's position (inside the caller's transaction when there is one)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.transaction():
            self.con.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)", [source, value, now])

    # -- privacy -----------------------------------------------------------------------------------------
    def pseudonym_key(self, key: str | None = None) -> bytes:
        """The HMAC key for pseudonymisation: `key` when given, else one generated once and kept in `meta`."""
        if key:
            return key.encode("utf-8")
        stored = self._get_meta("pseudonym_key")
        if stored is None:
            stored = secrets.token_hex(32)
            with self.transaction():
                self._set_meta("pseudonym_key", stored)
        return stored.encode("utf-8")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
