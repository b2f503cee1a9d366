"""Columnar validation: one SQL pass types every column and finds each row's first bad field.

The verdict must equal `records.validate_record` (pydantic), the contract. The SQL decides only values whose
meaning is certain — canonical numbers, ISO timestamps, known choices, exact types — and sends every other
distinct value of a field to the model's own field validation (`fields.validate_values`), whose value or
message is written back. Then the models' cross-field checks (`CROSS_CHECKS`) run on the typed columns.

A field of the raw batch can come in up to three parts, exactly one non-null per row:
- `text`: a VARCHAR column (CSV cells, JSON strings, Parquet strings), parsed as pydantic parses strings;
- `native`: a typed column (Parquet, JSON numbers and booleans);
- `pre_value`/`pre_error`: values already validated in Python (other JSON values); error '' means valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from northstar.ingest.fields import ERR_SEP, validate_values
from northstar.records import COLUMNS, Column
from northstar.schema import ARROW_TYPES, SQL_TYPES
from northstar.store import quote

__all__ = ["CROSS_CHECKS", "FieldSource", "RawBatch", "Validated", "validate_batch"]

# Whitespace that pydantic's str_strip_whitespace removes (Rust's char::is_whitespace).
WS_CODES = (9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
_WS_TEXT = "".join(chr(c) for c in WS_CODES)

INT_RE = r"[+-]?[0-9]{1,18}"
FLOAT_RE = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_YEAR = r"(1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])"  # 1000–9998: no overflow when shifted to UTC
DATE_RE = _YEAR + r"-[0-9]{2}-[0-9]{2}"
TS_RE = (
    DATE_RE + r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
BOOL_TRUE = ("1", "on", "t", "true", "y", "yes")
BOOL_FALSE = ("0", "f", "false", "n", "no", "off")

INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
FLOAT_TYPES = {"FLOAT", "DOUBLE"}
TS_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE", "DATE"}

# The model validators of records.py, as SQL over the typed columns: (field, bad when, message).
# They run only on rows whose fields are all valid, as pydantic's `mode="after"` validators do.
CROSS_CHECKS: dict[str, list[tuple[str, str, str]]] = {
    "deployments": [("finished_at", '"v:started_at" > "v:finished_at"', "'is before started_at'")],
    "incidents": [("resolved_at", '"v:resolved_at" < "v:opened_at"', "'is before opened_at'")],
    "service_samples": [("errors", '"v:errors" > "v:requests"', "'exceeds requests'")],
    "survey_responses": [
        (
            "score",
            'NOT ("v:score" BETWEEN (CASE "v:scale" WHEN \'nps\' THEN 0 ELSE 1 END) '
            "AND (CASE \"v:scale\" WHEN 'nps' THEN 10 WHEN 'likert5' THEN 5 ELSE 7 END))",
            'printf(\'%g is outside the %s scale %d–%d\', "v:score", "v:scale", '
            "CASE \"v:scale\" WHEN 'nps' THEN 0 ELSE 1 END, "
            "CASE \"v:scale\" WHEN 'nps' THEN 10 WHEN 'likert5' THEN 5 ELSE 7 END)",
        )
    ],
}


@dataclass
class FieldSource:
    """Where one field's raw values are in the batch (column names; see the module docstring)."""

    text: str | None = None
    native: str | None = None
    native_type: str | None = None
    pre_value: str | None = None
    pre_error: str | None = None


@dataclass
class RawBatch:
    """A relation with the raw columns of one file or API batch, and `_rec`, the row's position.

    Without `_rec` (`has_rec=False`, a CSV scan) the position is the row's order in the scan, which the typed
    table keeps (DuckDB preserves insertion order): its rowid, saved as `_rec`, is the record's index."""

    relation: str
    sources: dict[str, FieldSource]
    extra: str | None = None  # column holding the row's first unknown field name, if any
    has_rec: bool = True
    read_error: Callable[[duckdb.Error], Exception] | None = None  # turns a scan error into a clear one


@dataclass
class Validated:
    """The outcome of validating one batch: a view of the good rows, the bad rows, temp objects to drop."""

    good: str
    rows: int
    bad: list[tuple[int, str, str]] = field(default_factory=list)
    temp: list[tuple[str, str]] = field(default_factory=list)


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _sql_literal(col: Column, value: Any) -> str:
    typ = SQL_TYPES[col.type]
    if value is None:
        return f"CAST(NULL AS {typ})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return f"CAST({value!r} AS {typ})"
    return f"CAST({sql_text(str(value))} AS {typ})"


def _is_ws(code: str) -> str:
    # comparisons, not IN (…): DuckDB's IN-clause optimizer is slow to plan many long IN lists
    c = f"({code})"
    high = " OR ".join(f"{c} = {n}" for n in WS_CODES if n > 32 and not 0x2000 <= n <= 0x200A)
    ascii_ws = f"{c} <= 32 AND ({c} = 32 OR {c} BETWEEN 9 AND 13)"
    return f"(({ascii_ws}) OR ({c} >= 133 AND ({high} OR {c} BETWEEN 8192 AND 8202)))"


def _text_candidate(col: Column, t: str) -> str:
    """The typed value of a text cell when its form is canonical, else NULL (then Python decides)."""
    if col.choices:
        return f"CASE WHEN {t} IN ({', '.join(sql_text(c) for c in col.choices)}) THEN {t} END"
    if col.type == "string":
        # ASCII text (the common case) is checked with cheap byte tests; other text char by char.
        ascii_ends = " OR ".join([f"ord({t}) <= 32", *(f"suffix({t}, chr({c}))" for c in (32, 9, 10, 11, 12, 13))])
        padded = (
            f"(CASE WHEN strlen({t}) = length({t}) THEN ({ascii_ends}) "
            f"ELSE ({_is_ws(f'ord({t})')} OR {_is_ws(f'ord({t}[-1])')}) END)"
        )
        stripped = f"(CASE WHEN {padded} THEN trim({t}, {sql_text(_WS_TEXT)}) ELSE {t} END)"
        return f"nullif({stripped}, '')" if col.required else stripped
    if col.type == "int":
        return f"CASE WHEN regexp_full_match({t}, '{INT_RE}') THEN CAST({t} AS BIGINT) END"
    if col.type == "float":
        return f"CASE WHEN regexp_full_match({t}, '{FLOAT_RE}') THEN TRY_CAST({t} AS DOUBLE) END"
    if col.type == "bool":
        yes, no = (", ".join(sql_text(v) for v in vs) for vs in (BOOL_TRUE, BOOL_FALSE))
        return f"CASE WHEN lower({t}) IN ({yes}) THEN TRUE WHEN lower({t}) IN ({no}) THEN FALSE END"
    if col.type == "timestamp":
        # epoch_us/make_timestamp: the UTC instant without a (slow) time-zone conversion
        utc = f"make_timestamp(epoch_us(TRY_CAST({t} AS TIMESTAMPTZ)))"
        return f"CASE WHEN regexp_full_match({t}, '{TS_RE}') THEN {utc} END"
    if col.type == "date":
        return f"CASE WHEN regexp_full_match({t}, '{DATE_RE}') THEN TRY_CAST({t} AS DATE) END"
    return f"CAST(NULL AS {SQL_TYPES[col.type]})"  # lists and JSON objects: always validated in Python


def _native_candidate(col: Column, n: str, sql_type: str) -> str:
    """The typed value of a typed cell when its type maps exactly onto the field's, else NULL."""
    base = sql_type.split("(")[0].upper()
    if col.choices is None and col.type == "int":
        if base in INT_TYPES:
            return f"TRY_CAST({n} AS BIGINT)"
        if base in FLOAT_TYPES:
            return f"CASE WHEN isfinite({n}) AND {n} = trunc({n}) AND abs({n}) < 9.2e18 THEN CAST({n} AS BIGINT) END"
    if col.type == "float" and base in INT_TYPES | FLOAT_TYPES:
        return f"CAST({n} AS DOUBLE)"
    if col.type == "bool" and base == "BOOLEAN":
        return n
    if col.type == "timestamp" and base in TS_TYPES:
        return f"CAST({n} AS TIMESTAMP)"
    if col.type == "date" and base in {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS"}:
        return f"CAST({n} AS DATE)"
    return f"CAST(NULL AS {SQL_TYPES[col.type]})"


def _bounds(col: Column, c: str) -> str:
    parts = [f"{c} IS NOT NULL"]
    if col.type == "float":
        parts.append(f"NOT isnan({c})")
    if col.ge is not None:
        parts.append(f"{c} >= {col.ge!r}")
    if col.gt is not None:
        parts.append(f"{c} > {col.gt!r}")
    if col.le is not None:
        parts.append(f"{c} <= {col.le!r}")
    return " AND ".join(parts)


def _terminal_text_error(kind: str, col: Column) -> str | None:
    """For string fields, the one message of text the SQL candidate rejects (a non-choice; an id that is only
    whitespace), from the model itself; None when the SQL never rejects the field's text."""
    if col.type != "string" or not (col.choices or col.required):
        return None
    probe = "\x00 not one of the choices" if col.choices else " "
    _, errors = validate_values(kind, col, [probe])
    return errors[0]


def _fallback_parts(col: Column, src: FieldSource) -> list[str]:
    """The parts whose open values go to Python: typed cells, and text except of string fields."""
    return [p for p in (src.text if col.type != "string" else None, src.native) if p]


class _Validator:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        kind: str,
        batch: RawBatch,
        prefix: str,
        finish: Callable[[str, str], str],
    ) -> None:
        self.con, self.kind, self.batch, self.prefix, self.finish = con, kind, batch, prefix, finish
        self.v = f"{prefix}_v"

    def _field_sql(self, col: Column, src: FieldSource) -> tuple[list[str], list[str], list[str]]:
        """The field's SQL at three levels: raw parts and candidate; value, status, message; kept columns."""
        name = col.name
        c, v, s, m = (quote(f"{p}:{name}") for p in "cvsm")
        t = quote(src.text) if src.text else None
        n = quote(src.native) if src.native else None
        pe = quote(src.pre_error) if src.pre_error else None
        cands = [_text_candidate(col, t)] if t else []
        if n:
            cands.append(_native_candidate(col, n, src.native_type or ""))
        if src.pre_value:
            cands.append(quote(src.pre_value))
        inner = [quote(p) for p in (src.text, src.native, src.pre_value, src.pre_error) if p]
        inner.append(f"coalesce({', '.join(cands)}) AS {c}" if cands else f"CAST(NULL AS {SQL_TYPES[col.type]}) AS {c}")

        empties = [f"coalesce({t}, '') = ''"] if t else []
        empties += [f"{n} IS NULL"] if n else []
        empties += [f"{pe} IS NULL"] if pe else []
        empty = " AND ".join(empties) or "TRUE"
        # text the SQL rejects for sure (a non-choice, an empty id) gets pydantic's message, computed once
        text_error = _terminal_text_error(self.kind, col) if t else None
        value = f"CASE WHEN {empty} THEN {_sql_literal(col, col.default)} ELSE {c} END"
        status = (
            f"CASE WHEN {empty} THEN {2 if col.required else 0} "
            + (f"WHEN {pe} = '' THEN 0 WHEN {pe} IS NOT NULL THEN 3 " if pe else "")
            + f"WHEN {_bounds(col, c)} THEN 0 "
            + (f"WHEN {t} IS NOT NULL THEN 3 " if text_error else "")
            + "ELSE 1 END"
        )
        messages = [f"WHEN {pe} <> '' THEN {pe}"] if pe else []
        if text_error:
            messages.append(f"WHEN {t} <> '' AND {c} IS NULL THEN {sql_text(text_error)}")
        message = f"CASE {' '.join(messages)} END" if messages else "CAST(NULL AS VARCHAR)"
        middle = [f"{self.finish(name, value)} AS {v}", f"CAST({status} AS TINYINT) AS {s}", f"{message} AS {m}"]
        outer = [v, s, m]
        for part in _fallback_parts(col, src):  # raw values kept only where the Python fallback may look
            middle.append(quote(part))
            outer.append(f"CASE WHEN {s} = 1 THEN {quote(part)} END AS {quote('r:' + part)}")
        return inner, middle, outer

    def _typed_table(self) -> None:
        """One pass over the raw batch: per field, the typed value, a status and a message."""
        rec = ["_rec"] if self.batch.has_rec else []
        inner, middle, outer = list(rec), list(rec), list(rec)
        for col in COLUMNS[self.kind]:
            i, m, o = self._field_sql(col, self.batch.sources.get(col.name, FieldSource()))
            inner += i
            middle += m
            outer += o
        extra = self.batch.extra
        if extra:
            inner.append(quote(extra))
        middle.append(f"{quote(extra)} AS _extra" if extra else "CAST(NULL AS VARCHAR) AS _extra")
        outer.append("_extra")
        sql = (
            f"CREATE OR REPLACE TEMP TABLE {self.v} AS SELECT {', '.join(outer)} FROM ("
            f"SELECT {', '.join(middle)} FROM (SELECT {', '.join(dict.fromkeys(inner))} FROM {self.batch.relation}))"
        )
        try:
            self.con.execute(sql)
        except duckdb.Error as exc:
            if self.batch.read_error is None:
                raise
            raise self.batch.read_error(exc) from None
        if not self.batch.has_rec:
            # rowid is the scan order now; updates of list columns move rows, so keep it as a column
            self.con.execute(f"ALTER TABLE {self.v} ADD COLUMN _rec BIGINT")
            self.con.execute(f"UPDATE {self.v} SET _rec = rowid")

    def _fallback(self) -> None:
        """Send the values the SQL left open to the model's field validation, distinct value by value."""
        cols = COLUMNS[self.kind]
        counts = self.con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {quote('s:' + c.name)} = 1)" for c in cols)
            + f" FROM {self.v}"
        ).fetchone()
        assert counts is not None
        for col, n in zip(cols, counts, strict=True):
            if not n:
                continue
            for part in _fallback_parts(col, self.batch.sources.get(col.name, FieldSource())):
                self._fallback_part(col, "r:" + part)

    def _fallback_part(self, col: Column, raw_column: str) -> None:
        s, r = quote("s:" + col.name), quote(raw_column)
        raw = self.con.execute(
            f"SELECT DISTINCT {r} AS raw FROM {self.v} WHERE {s} = 1 AND {r} IS NOT NULL"
        ).to_arrow_table()
        if not len(raw):
            return
        values, errors = validate_values(self.kind, col, raw.column("raw").to_pylist())
        fb = pa.table(
            {
                "raw": raw.column("raw"),
                "val": pa.array(values, ARROW_TYPES[col.type]),
                "err": pa.array(errors, pa.string()),
            }
        )
        name = f"{self.prefix}_fb"
        self.con.register(name, fb)
        try:
            self.con.execute(
                f"UPDATE {self.v} SET {quote('v:' + col.name)} = {self.finish(col.name, 'fb.val')}, "
                f"{s} = CASE WHEN fb.err IS NULL THEN 0 ELSE 3 END, {quote('m:' + col.name)} = fb.err "
                f"FROM {name} fb WHERE {self.v}.{s} = 1 AND {self.v}.{r} = fb.raw"
            )
        finally:
            self.con.unregister(name)

    def _verdict(self) -> tuple[str, str, str]:
        """SQL for: the row is good; its first bad field; the reason."""
        cols = COLUMNS[self.kind]
        checks = CROSS_CHECKS.get(self.kind, [])
        fields_ok = " AND ".join(f"{quote('s:' + c.name)} = 0" for c in cols)
        cross_bad = " OR ".join(f"coalesce({cond}, FALSE)" for _, cond, _ in checks) or "FALSE"
        good = f"({fields_ok} AND _extra IS NULL AND NOT ({cross_bad}))"
        fld, why = [], []
        sep = f"chr({ord(ERR_SEP)})"
        for c in cols:
            s, m = quote("s:" + c.name), quote("m:" + c.name)
            fld.append(f"WHEN {s} = 2 THEN {sql_text(c.name)} WHEN {s} <> 0 THEN split_part({m}, {sep}, 1)")
            why.append(f"WHEN {s} = 2 THEN 'Field required' WHEN {s} <> 0 THEN split_part({m}, {sep}, 2)")
        fld.append("WHEN _extra IS NOT NULL THEN _extra")
        why.append("WHEN _extra IS NOT NULL THEN 'Extra inputs are not permitted'")
        for name, cond, msg in checks:
            fld.append(f"WHEN coalesce({cond}, FALSE) THEN {sql_text(name)}")
            why.append(f"WHEN coalesce({cond}, FALSE) THEN {msg}")
        return good, f"CASE {' '.join(fld)} END", f"CASE {' '.join(why)} END"

    def run(self) -> Validated:
        self._typed_table()
        self._fallback()
        good, err_field, err_reason = self._verdict()
        rows = self.con.execute(f"SELECT count(*) FROM {self.v}").fetchone()
        bad = self.con.execute(
            f"SELECT _rec, {err_field}, {err_reason} FROM {self.v} WHERE NOT {good} ORDER BY _rec"
        ).fetchall()
        view = f"{self.prefix}_good"
        cols = ", ".join(f"{quote('v:' + c.name)} AS {quote(c.name)}" for c in COLUMNS[self.kind])
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT _rec, {cols} FROM {self.v} WHERE {good}")
        return Validated(
            good=view,
            rows=int(rows[0]) if rows else 0,
            bad=[(int(r), str(f or "record"), str(m or "invalid")) for r, f, m in bad],
            temp=[("VIEW", view), ("TABLE", self.v)],
        )


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    batch: RawBatch,
    prefix: str,
    finish: Callable[[str, str], str] | None = None,
) -> Validated:
    """Validate a raw batch into a view of typed good rows and a list of (rec, field, reason) for bad rows.

    `finish(field, sql)` may wrap a field's final value (pseudonymisation)."""
    return _Validator(con, kind, batch, prefix, finish or (lambda _name, sql: sql)).run()
