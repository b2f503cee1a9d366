"""Readers: CSV, JSON Lines and Parquet files (optionally gzipped) and API batches → raw DuckDB batches.

Each reader checks what is wrong with a file as a whole (format, encoding, header) and raises `IngestError`
naming the path and line; rows it can read go to a raw batch for `validate`, rows it cannot parse (a JSON
syntax error on one line) become problems. `locate` maps a row's position back to its physical line and the
text it was written as, for error messages and the quarantine.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa

from northstar.ingest.errors import IngestError, Problem
from northstar.ingest.fields import validate_values
from northstar.ingest.validate import FieldSource, RawBatch, sql_text
from northstar.records import COLUMNS, Column
from northstar.schema import ARROW_TYPES
from northstar.store import quote

__all__ = ["FORMATS", "Source", "detect_format", "gunzip", "read_csv", "read_jsonl", "read_parquet", "read_records"]

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_CHUNK = 1 << 22
_JSON_BATCH = 100_000
_NATURAL: dict[str, pa.DataType] = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}

Locate = Callable[[Sequence[int]], dict[int, tuple[int, str]]]


@dataclass
class Source:
    """One input, read: its raw batch, rows it could not parse, and how to find a row's line and text."""

    display: str
    batch: RawBatch
    unit: str
    locate: Locate
    problems: list[Problem] = field(default_factory=list)
    temp: list[tuple[str, str]] = field(default_factory=list)


def detect_format(path: Path) -> tuple[str, bool]:
    """(format, gzipped) from the file name: .csv, .jsonl/.ndjson/.json, .parquet, each optionally .gz."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    suffix = Path(name[:-3] if gz else name).suffix
    fmt = FORMATS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise IngestError(f"{path}: unknown file format {suffix or '(no extension)'!r}; expected {known} (or .gz)")
    return fmt, gz


def gunzip(path: Path, folder: Path, tag: str) -> Path:
    """Decompress `path` into `folder` (as `tag-name`), checking the whole stream: a truncated file is an
    error, not less data."""
    out = folder / f"{tag}-{path.name[:-3]}"
    try:
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IngestError(f"{path}: truncated or corrupt gzip file ({exc})") from None
    return out


def _check_columns(kind: str, display: str, names: Sequence[str], where: str) -> None:
    known = {c.name for c in COLUMNS[kind]}
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise IngestError(f"{display}{where}: column {blank[0]} has no name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise IngestError(f"{display}{where}: duplicate column {', '.join(dupes)}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise IngestError(
            f"{display}{where}: unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"{kind} has: {', '.join(c.name for c in COLUMNS[kind])}"
        )
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in names]
    if missing:
        raise IngestError(
            f"{display}{where}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )


# -- CSV -----------------------------------------------------------------------------------------------


def _csv_header(path: Path, display: str) -> list[str]:
    with open(path, "rb") as f:
        first = f.readline()
    try:
        text = first.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise IngestError(f"{display}:1: not UTF-8 text; save the file as UTF-8") from None
    try:
        row = next(csv.reader([text]), None)
    except csv.Error as exc:
        raise IngestError(f"{display}:1: unreadable CSV header ({exc})") from None
    if not row:
        raise IngestError(f"{display}: empty file; a CSV file starts with a header line naming its columns")
    return [n.strip() for n in row]


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COLS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _csv_error(display: str, exc: duckdb.Error) -> IngestError:
    text = str(exc)
    m = _CSV_LINE.search(text)
    where = f"{display}:{m.group(1)}" if m else display
    cols = _CSV_COLS.search(text)
    if cols:
        reason = f"expected {cols.group(1)} fields (as in the header), found {cols.group(2)}"
    elif "unicode" in text.lower() or "utf-8" in text.lower():
        reason = "not UTF-8 text; save the file as UTF-8"
    elif "unterminated quote" in text:
        reason = "a quoted value is not closed"
    elif "line size" in text.lower():
        reason = "line too long (over 2 MB)"
    else:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("CSV Error", "Original Line"))]
        reason = f"unreadable CSV ({lines[0] if lines else text})"
    return IngestError(f"{where}: {reason}")


def read_csv(con: duckdb.DuckDBPyConnection, kind: str, path: Path, display: str, prefix: str) -> Source:
    """A CSV file (header line, RFC 4180 quoting, UTF-8), scanned as text cells (validated in the same pass)."""
    names = _csv_header(path, display)
    _check_columns(kind, display, names, ":1")
    columns = "{" + ", ".join(f"{sql_text(n)}: 'VARCHAR'" for n in names) + "}"
    scan = (
        f"read_csv({sql_text(str(path))}, header=true, auto_detect=false, all_varchar=true, delim=',', "
        f"quote='\"', escape='\"', strict_mode=true, columns={columns})"
    )
    cols = ", ".join(f"{quote(n)} AS {quote('t:' + n)}" for n in names)
    batch = RawBatch(
        f"(SELECT {cols} FROM {scan})",
        {n: FieldSource(text="t:" + n) for n in names},
        has_rec=False,
        read_error=lambda exc: _csv_error(display, exc),
    )
    return Source(display, batch, "line", lambda recs: _locate_csv(path, recs))


def _locate_csv(path: Path, recs: Sequence[int]) -> dict[int, tuple[int, str]]:
    """Physical line and text of CSV records (0-based, after the header; blank lines skipped as DuckDB does)."""
    wanted = set(recs)
    out: dict[int, tuple[int, str]] = {}
    if not wanted:
        return out
    last = max(wanted)
    consumed: list[str] = []

    def lines(f: IO[str]) -> Iterator[str]:
        for line in f:
            consumed.append(line)
            yield line

    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(lines(f))
        rec, header, start = -1, True, 1
        for row in reader:
            text = "".join(consumed).rstrip("\r\n")
            n_lines = len(consumed)
            consumed.clear()
            if row and not header:
                rec += 1
                if rec in wanted:
                    out[rec] = (start, text)
                if rec >= last:
                    break
            header = header and not row
            start += n_lines
    return out


# -- Parquet -------------------------------------------------------------------------------------------


def read_parquet(con: duckdb.DuckDBPyConnection, kind: str, path: Path, display: str, prefix: str) -> Source:
    """A Parquet file, read with its own column types (scanned in place, not copied)."""
    scan = f"read_parquet({sql_text(str(path))}, file_row_number=true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{display}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    types = {str(r[0]): str(r[1]) for r in described if r[0] != "file_row_number"}
    _check_columns(kind, display, list(types), "")
    sources: dict[str, FieldSource] = {}
    cols = []
    for name, typ in types.items():
        if typ == "VARCHAR":
            sources[name] = FieldSource(text="t:" + name)
            cols.append(f"{quote(name)} AS {quote('t:' + name)}")
        else:
            sources[name] = FieldSource(native="n:" + name, native_type=typ)
            cols.append(f"{quote(name)} AS {quote('n:' + name)}")
    batch = RawBatch(f"(SELECT file_row_number AS _rec, {', '.join(cols)} FROM {scan})", sources)

    def locate(recs: Sequence[int]) -> dict[int, tuple[int, str]]:
        con.register("_ns_recs", pa.table({"r": pa.array(list(recs), pa.int64())}))
        try:
            rows = con.execute(f"SELECT * FROM {scan} WHERE file_row_number IN (SELECT r FROM _ns_recs)").fetchall()
            names = [d[0] for d in con.description or []]
        finally:
            con.unregister("_ns_recs")
        out = {}
        for row in rows:
            data = dict(zip(names, row, strict=True))
            rec = int(data.pop("file_row_number"))
            out[rec] = (rec + 1, json.dumps(data, default=str, ensure_ascii=False))
        return out

    return Source(display, batch, "row", locate)


# -- JSON Lines and API batches ------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


class _JsonColumns:
    """Python objects → raw batches with, per field, a text, a natural-type and a pre-validated part."""

    def __init__(self, con: duckdb.DuckDBPyConnection, kind: str, table: str, *, parsed_json: bool = False) -> None:
        self.con, self.kind, self.table = con, kind, table
        self.parsed_json = parsed_json  # values come from json.loads: str, never bytes
        self.known = {c.name for c in COLUMNS[kind]}
        self.parts: list[pa.Table] = []
        fields: list[pa.Field] = [pa.field("_rec", pa.int64()), pa.field("_extra", pa.string())]
        for c in COLUMNS[kind]:
            fields.append(pa.field("t:" + c.name, pa.string()))
            if c.type in _NATURAL and c.choices is None:
                fields.append(pa.field("n:" + c.name, _NATURAL[c.type]))
            fields += [pa.field("pv:" + c.name, ARROW_TYPES[c.type]), pa.field("pe:" + c.name, pa.string())]
        self.schema = pa.schema(fields)

    def batch(self) -> RawBatch:
        sources = {
            c.name: FieldSource(
                text="t:" + c.name,
                native=("n:" + c.name) if "n:" + c.name in self.schema.names else None,
                native_type={"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN"}.get(c.type),
                pre_value="pv:" + c.name,
                pre_error="pe:" + c.name,
            )
            for c in COLUMNS[self.kind]
        }
        return RawBatch(self.table, sources, extra="_extra")

    def register(self) -> list[tuple[str, str]]:
        """Expose the batches to DuckDB as one Arrow table (scanned in place, not copied)."""
        self.con.register(self.table, pa.concat_tables(self.parts) if self.parts else self.schema.empty_table())
        return [("ARROW", self.table)]

    def add(self, recs: list[int], objs: list[dict[str, Any]]) -> None:
        data: dict[str, pa.Array] = {"_rec": pa.array(recs, pa.int64())}
        extras: list[str | None] = [None] * len(objs)
        for i, obj in enumerate(objs):
            if not self.known.issuperset(obj):
                extras[i] = next(k for k in obj if k not in self.known)
        data["_extra"] = pa.array(extras, pa.string())
        for col in COLUMNS[self.kind]:
            data.update(self._field(col, [o.get(col.name) for o in objs]))
        self.parts.append(pa.table(data, schema=self.schema))

    def _field(self, col: Column, values: list[Any]) -> dict[str, pa.Array]:
        name, size = col.name, len(values)
        has_natural = "n:" + name in self.schema.names
        text = None
        if self.parsed_json:  # fast path: a column of strings converts in one C call
            with suppress(pa.ArrowTypeError, pa.ArrowInvalid):
                text = pa.array(values, pa.string())
        if text is None:
            text = pa.array([v if type(v) is str else None for v in values], pa.string())
            others = [i for i, v in enumerate(values) if v is not None and type(v) is not str]
        else:
            others = []
        out = {"t:" + name: text}
        natural: list[Any] = [None] * size
        pv: list[Any] = [None] * size
        pe: list[str | None] = [None] * size
        if others:  # numbers, booleans, arrays, objects: natural types go to SQL, the rest to the model
            is_natural = self._natural(col)
            pre = []
            for i in others:
                if is_natural(values[i]):
                    natural[i] = values[i]
                else:
                    pre.append(i)
            if pre:
                checked, errors = validate_values(self.kind, col, [values[i] for i in pre])
                for i, val, err in zip(pre, checked, errors, strict=True):
                    pv[i], pe[i] = val, ("" if err is None else err)
        if has_natural:
            out["n:" + name] = pa.array(natural, _NATURAL[col.type]) if others else pa.nulls(size, _NATURAL[col.type])
        out["pv:" + name] = pa.array(pv, ARROW_TYPES[col.type]) if others else pa.nulls(size, ARROW_TYPES[col.type])
        out["pe:" + name] = pa.array(pe, pa.string()) if others else pa.nulls(size, pa.string())
        return out

    def _natural(self, col: Column) -> Callable[[Any], bool]:
        if "n:" + col.name not in self.schema.names:
            return lambda v: False
        if col.type == "int":
            return lambda v: type(v) is int and -(2**63) <= v < 2**63
        if col.type == "float":
            return lambda v: type(v) is float or (type(v) is int and -(2**53) <= v <= 2**53)
        return lambda v: type(v) is bool


def _open_text(path: Path, gz: bool) -> IO[str]:
    if gz:
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _first_bad_utf8_line(path: Path, gz: bool) -> int:
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return 1


def _json_lines(path: Path, gz: bool, display: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines, decoding UTF-8 strictly."""
    try:
        with _open_text(path, gz) as f:
            for lineno, text in enumerate(f, 1):
                if not text.isspace():
                    yield lineno, text
    except UnicodeDecodeError:
        line = _first_bad_utf8_line(path, gz)
        raise IngestError(f"{display}:{line}: not UTF-8 text; save the file as UTF-8") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IngestError(f"{display}: truncated or corrupt gzip file ({exc})") from None


_DECODE = json.JSONDecoder().raw_decode


def _parse_json_line(text: str) -> Any:
    """`json.loads(text)`, faster for the usual line (no leading whitespace); the same errors."""
    if text[:1].isspace():
        return json.loads(text)
    obj, end = _DECODE(text)
    if end != len(text) and not text[end:].isspace():
        return json.loads(text)  # raises json.loads' own error for the trailing data
    return obj


def _json_error(line: str) -> str:
    """Why a line (without its line break, so the column is on this line) is not JSON."""
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    return "invalid JSON"


def read_jsonl(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    path: Path,
    gz: bool,
    display: str,
    prefix: str,
    advance: Callable[[int], None] | None = None,
) -> Source:
    """A JSON Lines file: one object per line; blank lines are skipped."""
    cols = _JsonColumns(con, kind, f"{prefix}_raw", parsed_json=True)
    problems: list[Problem] = []
    recs: list[int] = []
    objs: list[dict[str, Any]] = []
    consumed = 0
    for lineno, text in _json_lines(path, gz, display):
        consumed += len(text)
        if not recs and not problems and text.lstrip().startswith("[") and not text.rstrip().endswith("]"):
            raise IngestError(
                f"{display}:{lineno}: a JSON array; northstar reads JSON Lines, one object per line "
                "(convert with: jq -c '.[]')"
            )
        try:
            obj = _parse_json_line(text)
        except json.JSONDecodeError:
            line = text.rstrip("\r\n")
            problems.append(Problem(display, lineno, "record", _json_error(line), line))
            continue
        if type(obj) is not dict:
            reason = f"expected a JSON object, got {_json_type(obj)}"
            problems.append(Problem(display, lineno, "record", reason, text.rstrip("\r\n")))
            continue
        recs.append(lineno)
        objs.append(obj)
        if len(objs) >= _JSON_BATCH:
            cols.add(recs, objs)
            if advance:
                advance(consumed)
                consumed = 0
            recs, objs = [], []
    if objs:
        cols.add(recs, objs)

    def locate(lines: Sequence[int]) -> dict[int, tuple[int, str]]:
        wanted = set(lines)
        return {n: (n, t.rstrip("\r\n")) for n, t in _json_lines(path, gz, display) if n in wanted}

    return Source(display, cols.batch(), "line", locate, problems=problems, temp=cols.register())


def read_records(con: duckdb.DuckDBPyConnection, kind: str, rows: Iterable[Any], display: str, prefix: str) -> Source:
    """An API or connector batch: a list of objects; a row's "line" is its index in the batch."""
    rows = list(rows)
    cols = _JsonColumns(con, kind, f"{prefix}_raw")
    problems = [
        Problem(display, i, "record", f"expected an object, got {_json_type(r)}", _dump(r), unit="item")
        for i, r in enumerate(rows)
        if not isinstance(r, dict)
    ]
    good = [i for i, r in enumerate(rows) if isinstance(r, dict)]
    for start in range(0, len(good), _JSON_BATCH):
        part = good[start : start + _JSON_BATCH]
        cols.add(part, [rows[i] for i in part])

    def locate(recs: Sequence[int]) -> dict[int, tuple[int, str]]:
        return {i: (i, _dump(rows[i])) for i in recs}

    return Source(display, cols.batch(), "item", locate, problems=problems, temp=cols.register())


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
