"""DuckDB: run the queries of one `compute` call while Python works, and compute their common parts once.

The runner's serial way (`run._serial`) builds, compiles, executes and shapes one metric after another; on
DuckDB the engine then waits for Python (building and compiling Ibis expressions, shaping rows) about half of
the time. Here, as the metrics' expressions are built:

- **Shared parts once.** An aggregate or distinct relation that appears, identical, in the queries of two
  or more metrics (Ibis nodes compare by structure: same tables, filters, window and settings) is executed
  once, to Arrow, and the queries read that result instead (a table registered under a reserved name).
  A shared part used only inside a bigger shared part by the same metrics is left to the bigger one.
- **Queries beside Python.** Worker threads, each with its own DuckDB cursor (a connection to the same
  database), compile and execute the queries (those that read no shared part first), while the calling
  thread turns finished results into rows. DuckDB releases the GIL while it executes.
- **Checks as before.** A metric's new integer data-warning checks ride on its own query (a cross join with
  their single row); a check that an earlier metric's query computed is not computed again; what is left
  (no rows to ride on, or a check that is not an integer) runs on the caller's connection once every result
  is in (`run._Checks`).

Results are yielded as soon as each is ready, with the metric's position. The answers are those of the serial way:
the same expressions, with parts replaced by their own results.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from operator import itemgetter
from typing import Any

import ibis
import ibis.expr.operations as ops
import pandas as pd
from ibis.common.graph import Graph

__all__ = ["SHARED_PREFIX", "WORKERS", "Pipeline", "run", "shared_parts", "supported"]

SHARED_PREFIX = "_northstar_shared_"
# two: one query compiles (Python) while the other executes (DuckDB, which uses the cores it is given)
WORKERS = 2
_SHAREABLE = (ops.Aggregate, ops.Distinct)


def supported(con: Any) -> bool:
    """Whether `con` is an Ibis DuckDB backend (the only engine this module runs on) whose tables other
    cursors see: temporary tables and views (other than Ibis's own in-memory tables, which each cursor
    registers for itself) belong to their connection alone, so a connection that has any runs serially."""
    try:
        from ibis.backends.duckdb import Backend
    except ImportError:  # pragma: no cover - duckdb is a base dependency
        return False
    if not isinstance(con, Backend):
        return False
    private = con.con.sql(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    return not [name for (name,) in private if not _MEMTABLE.match(name)]


_MEMTABLE = re.compile(r"ibis_\w+_memtable_")


def shared_parts(queries: Sequence[Any]) -> list[Any]:
    """The aggregate and distinct relations found in two or more of `queries` (Ibis table expressions),
    innermost first; one that only ever appears inside a bigger shared one, in the same queries, is left out."""
    where: dict[Any, set[int]] = {}
    for i, q in enumerate(queries):
        _note(where, q, i)
    return _keep(where, {})


def _note(where: dict[Any, set[int]], query: Any, i: int) -> None:
    """Note, for each aggregate or distinct relation of `query`, that query `i` holds it."""
    for node in Graph.from_bfs(query.op()):
        if isinstance(node, _SHAREABLE):
            where.setdefault(node, set()).add(i)


def _keep(where: dict[Any, set[int]], inside: dict[Any, set[Any]]) -> list[Any]:
    """`shared_parts` from the noted relations (`inside`: each relation's nodes, filled in as needed)."""
    multi = {n: s for n, s in where.items() if len(s) > 1}
    for n in multi:
        if n not in inside:
            inside[n] = set(Graph.from_bfs(n))
    keep = [n for n, s in multi.items() if not any(m is not n and n in inside[m] and multi[m] == s for m in multi)]
    return sorted(keep, key=lambda n: len(inside[n]))


def _names(node: Any) -> list[str]:
    """The shared results that the (rewritten) expression node reads."""
    return [t.name for t in node.find(ops.UnboundTable) if t.name.startswith(SHARED_PREFIX)]


class _Workers:
    """A thread pool whose threads each hold an Ibis backend on their own cursor of `con`'s database."""

    def __init__(self, con: Any, workers: int) -> None:
        self.con = con
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="northstar-query")
        self.local = threading.local()
        self.lock = threading.Lock()
        self.backends: list[Any] = []

    def backend(self) -> Any:
        b = getattr(self.local, "backend", None)
        if b is None:
            b = ibis.duckdb.from_connection(self.con.con.cursor())
            self.local.backend = b
            with self.lock:
                self.backends.append(b)
        return b

    def close(self, interrupt: bool = False) -> None:
        """Stop: queries not started are dropped; with `interrupt`, running ones are interrupted (an error or
        Ctrl-C while they run), else awaited."""
        if interrupt:
            with self.lock:
                for b in self.backends:
                    b.con.interrupt()
        self.pool.shutdown(wait=True, cancel_futures=True)
        for b in self.backends:
            b.con.close()
        self.backends.clear()


class Pipeline:
    """One `compute` call's queries. `add` each metric's query as soon as it is built: a part it shares with
    an earlier one starts computing right away (the engine works while Python builds the other metrics);
    `results` then runs every query and yields each result as soon as it is ready.

    A part shared by the queries added so far stays a shared part once they are all in: a bigger part that
    holds it and is found in the same queries would have been found with it."""

    def __init__(self, con: Any, workers: int | None = None) -> None:
        self.pool = _Workers(con, workers or WORKERS)
        self.items: list[tuple[Any, Any, list[str], list[Any]]] = []
        self.where: dict[Any, set[int]] = {}
        self.inside: dict[Any, set[Any]] = {}
        self.tables: dict[Any, Any] = {}  # shared part → the name its result is read under
        self.done: dict[str, Future[Any]] = {}

    def add(self, expr: Any, query: Any, names: Sequence[str], keys: Sequence[Any]) -> None:
        """The next metric: its result is `expr`; `query` is `expr` with the metric's checks as extra columns
        `names` (None when it has none)."""
        _note(self.where, query if query is not None else expr, len(self.items))
        self.items.append((expr, query, list(names), list(keys)))
        try:
            for n in _keep(self.where, self.inside):
                if n not in self.tables:
                    self._share(n)
        except BaseException:
            self.close(interrupt=True)
            raise

    def _share(self, n: Any) -> None:
        inner = {m: t for m, t in self.tables.items() if m is not n}
        node = n.replace(inner) if inner else n
        deps = {name: self.done[name] for name in _names(node)}
        table = self.tables[n] = ops.UnboundTable(name=f"{SHARED_PREFIX}{len(self.tables)}", schema=n.schema)
        self.done[table.name] = self.pool.pool.submit(_materialize, self.pool, node.to_expr(), deps)

    def results(self) -> Generator[tuple[int, pd.DataFrame, dict[Any, Any]]]:
        """For each metric added, as soon as it is ready: its position, the result of its `expr` (a DataFrame,
        as `con.execute` gives it) and the check values its `query` computed on the way (by check key; none
        when the engine cannot compute them together, or the result has no rows). The metrics that read no
        shared part go first, so that their rows are made while the shared parts compute."""
        tables, done = self.tables, self.done
        try:
            jobs = []
            for i, (e, q, names, keys) in enumerate(self.items):
                plain = e.op().replace(tables).to_expr() if tables else e
                both = q.op().replace(tables).to_expr() if (tables and q is not None) else q
                reads = {*_names(plain.op()), *(_names(both.op()) if both is not None else [])}
                jobs.append((bool(reads), i, plain, both, names, keys, {name: done[name] for name in reads}))
            futures: dict[Future[tuple[pd.DataFrame, dict[Any, Any]]], int] = {}
            for _, i, plain, both, names, keys, deps in sorted(jobs, key=itemgetter(0, 1)):
                futures[self.pool.pool.submit(_execute, self.pool, plain, both, names, keys, deps)] = i
            del jobs
            for fut in as_completed(futures):
                i = futures.pop(fut)  # let each result go once the caller is done with it, not all at the end
                df, counts = fut.result()
                del fut
                yield i, df, counts
        except BaseException:
            self.close(interrupt=True)
            raise
        finally:
            self.close()

    def close(self, interrupt: bool = False) -> None:
        self.pool.close(interrupt)


def run(
    con: Any, items: Sequence[tuple[Any, Any, Sequence[str], Sequence[Any]]], workers: int | None = None
) -> Generator[tuple[int, pd.DataFrame, dict[Any, Any]]]:
    """`Pipeline.results` for `items`, each `(expr, query, names, keys)` as `Pipeline.add` takes them."""
    pipe = Pipeline(con, workers)
    for item in items:
        pipe.add(*item)
    return pipe.results()


@contextlib.contextmanager
def _reading(pool: _Workers, deps: dict[str, Future[Any]]) -> Iterator[Any]:
    """This worker's backend, with the shared results `deps` registered under their names while in use."""
    b = pool.backend()
    for name, fut in deps.items():
        b.con.register(name, fut.result())
    try:
        yield b
    finally:
        for name in deps:
            b.con.unregister(name)


def _materialize(pool: _Workers, expr: Any, deps: dict[str, Future[Any]]) -> Any:
    with _reading(pool, deps) as b:
        return b.to_pyarrow(expr)


def _execute(
    pool: _Workers,
    plain: Any,
    both: Any,
    names: list[str],
    keys: list[Any],
    deps: dict[str, Future[Any]],
) -> tuple[pd.DataFrame, dict[Any, Any]]:
    from northstar.metrics.run import with_riders

    with _reading(pool, deps) as b:
        return with_riders(b.execute, plain, both, names, keys)
