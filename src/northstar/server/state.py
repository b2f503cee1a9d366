"""What the server holds for its lifetime: the store open read-write, one write lock, the settings.

DuckDB allows one writing process per file, so the server owns the store: writes (ingest, tokens) run on the
store's connection one at a time under `write_lock`; reads run on their own cursor of the same database
(DuckDB cursors are separate connections to the one open database, with snapshot isolation), so a long
metric query never blocks ingest and always sees whole batches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from northstar.server.auth import ensure_token_table

if TYPE_CHECKING:
    from northstar.config import Settings
    from northstar.store import Store

__all__ = ["DEFAULT_MAX_BODY", "ServerState"]

DEFAULT_MAX_BODY = 16 << 20
"""Largest accepted request body (bytes); beyond it: 413."""


@dataclass
class ServerState:
    """The store, the settings and the limits of one running server."""

    store: Store
    settings: Settings
    max_body: int = DEFAULT_MAX_BODY
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls,
        db: str | Path,
        settings: Settings | None = None,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        lock_timeout: float = 2.0,
        webhook_secrets: dict[str, str] | None = None,
    ) -> ServerState:
        """Open the store read-write (creating it) and the token table; raises StoreLocked when in use."""
        from northstar.config import Settings
        from northstar.store import Store

        store = Store.open(db, lock_timeout=lock_timeout)
        try:
            ensure_token_table(store.con)
        except BaseException:
            store.close()
            raise
        return cls(store, settings or Settings(), max_body, dict(webhook_secrets or {}))

    def close(self) -> None:
        with self.write_lock:
            self.store.close()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A DuckDB cursor for reads (its own snapshot), closed after use."""
        cur = self.store.con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            yield cur
        finally:
            cur.close()

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """An Ibis backend on a fresh cursor: what `compute`, `assess` and `check` run on."""
        import ibis

        with self.cursor() as cur:
            yield ibis.duckdb.from_connection(cur)
