"""The columnar validator agrees with `records.validate_record` (pydantic), the contract, row by row.

Random rows, good and bad, go through the bulk path (CSV files, Parquet files, API batches of typed JSON
values) and through `validate_record`: the same rows are accepted, rejected rows name the same field (and,
but for "Field required" on an empty cell, the same reason), and accepted rows are stored with exactly the
values the model produces. These take about 20 s each and are marked slow (they still run in CI).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northstar.ingest import ingest_files, ingest_records
from northstar.ingest.validate import WS_CODES
from northstar.records import COLUMNS, KINDS, Column, RecordError, parse_timestamp, validate_record
from northstar.schema import rows_to_arrow
from northstar.store import Store

WS = [chr(c) for c in WS_CODES] + ["\x1c", "\x1f"]  # and two that Python strips but pydantic does not
PAD = st.sampled_from(["", "", "", " ", "  ", "\t", *WS])
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


def _reset(store: Store, kind: str) -> None:
    store.con.execute(f"DELETE FROM {kind}")
    store.con.execute("DELETE FROM quarantine")
    store.con.execute("DELETE FROM latency_buckets")


# -- value strategies ------------------------------------------------------------------------------------

datetimes = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
near = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 1, 3))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))


def _offset_text(off: timedelta, style: int) -> str:
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    h, m = divmod(abs(total), 60)
    return [f"{sign}{h:02d}:{m:02d}", f"{sign}{h:02d}{m:02d}", "Z", "z", f"{sign}{h:02d}"][style]


@st.composite
def timestamp_text(draw: st.DrawFn) -> str:
    dt = draw(st.one_of(near, datetimes))
    sep = draw(st.sampled_from(["T", " ", "t"]))
    frac = draw(st.integers(0, 7))
    secs = draw(st.sampled_from(["full", "minutes", "hour"]))
    time_part = f"{dt.hour:02d}"
    if secs != "hour":
        time_part += f":{dt.minute:02d}"
    if secs == "full":
        time_part += f":{dt.second:02d}"
        if frac:
            time_part += "." + f"{dt.microsecond:06d}{draw(st.integers(0, 9))}"[:frac]
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    if draw(st.booleans()):
        text += sep + time_part
        if draw(st.booleans()):
            text += _offset_text(draw(offsets), draw(st.integers(0, 4)))
    return draw(PAD) + text + draw(PAD)


odd_timestamps = st.sampled_from(
    [
        "2024-01-01T24:00:00",
        "2024-02-30",
        "2024-01-01T10:00:60",
        "20240101T1000",
        "2024-W01-1",
        "0001-01-01T00:00+01:00",
        "9999-12-31T23:00-02:00",
        "9999-12-31",
        "0999-01-01",
        "2024-1-1",
        "yesterday",
        "2024-01-01T10:00:00 UTC",
        "infinity",
        "epoch",
        "2024-01-01T10:00:00+24:00",
        "2024-01-01T10:00:00.5+02:00:30",
        "",
        " ",
    ]
)


def _numbers(kind: str) -> st.SearchStrategy[str]:
    base = st.one_of(
        st.integers(-(10**20), 10**20).map(str),
        st.integers(-5, 15).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.floats(-5, 15).map(lambda f: f"{f:.3f}"),
        st.sampled_from(
            [
                "1.0",
                "1.5",
                "1e3",
                "1_000",
                ".5",
                "5.",
                "+3",
                "-0",
                "007",
                "0x10",
                "inf",
                "-inf",
                "nan",
                "Infinity",
                "1e400",
                "abc",
                "",
                " ",
                "١",
                "1 000",
            ]
        ),
    )
    return st.tuples(PAD, base, PAD).map("".join) if kind else base


bools_text = st.one_of(
    st.sampled_from(
        [
            "true",
            "false",
            "True",
            "FALSE",
            "1",
            "0",
            "yes",
            "No",
            "y",
            "n",
            "on",
            "off",
            "t",
            "f",
            "2",
            "",
            " true",
            "maybe",
        ]
    ),
)


def _strings(required: bool) -> st.SearchStrategy[str]:
    core = st.text(
        alphabet=st.sampled_from(["a", "b", "Z", "é", "_", "-", " ", "\t", "\u00a0", "\x1c", "1"]), max_size=6
    )
    return st.tuples(PAD, core, PAD).map("".join)


def _json_object() -> st.SearchStrategy[Any]:
    keys = st.tuples(PAD, st.sampled_from(["a", "b", "k"]), PAD).map("".join)
    leaf = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.booleans(), st.none(), st.floats(allow_nan=False))
    return st.dictionaries(keys, leaf, max_size=3)


def _buckets() -> st.SearchStrategy[Any]:
    key = st.sampled_from(["0.1", "0.5", "1", "+Inf", "Inf", "inf", "abc", " 2 ", "nan", "1e1"])
    count = st.one_of(st.integers(0, 20), st.floats(0, 20), st.just(-1), st.just(True), st.just("3"))
    return st.dictionaries(key, count, max_size=4)


def _text_value(col: Column, kind: str) -> st.SearchStrategy[str]:
    """A cell as it could appear in a CSV file."""
    if col.choices:
        choice = st.sampled_from(col.choices)
        return st.one_of(choice, choice.map(str.upper), st.tuples(PAD, choice, PAD).map("".join), st.just(""))
    if col.type == "string":
        return _strings(col.required)
    if col.type in ("int", "float"):
        return _numbers(kind)
    if col.type == "bool":
        return bools_text
    if col.type == "timestamp":
        return st.one_of(timestamp_text(), odd_timestamps)
    if col.type == "date":
        return st.one_of(
            st.dates(min_value=date(1, 1, 1)).map(str),
            timestamp_text(),
            st.sampled_from(["2024-1-1", "20240101", "2024-01-01garbage", "  ", "", "2024-02-30"]),
        )
    if col.type == "string_list":
        lists = st.lists(st.one_of(_strings(False), st.integers(0, 3)), max_size=3)
        return st.one_of(lists.map(json.dumps), st.sampled_from(["", "[", "{}", '"a"', "[1]", " [] "]))
    obj = _buckets() if col.name == "latency_buckets" else _json_object()
    return st.one_of(obj.map(json.dumps), st.sampled_from(["", "{", "[]", '"x"', "null", " {} "]))


def _typed_value(col: Column, kind: str) -> st.SearchStrategy[Any]:
    """A value as it could appear in a JSON object: text, or a JSON number, boolean, null, array, object."""
    typed: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.integers(-5, 15),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
    ]
    if col.type == "string_list":
        typed.append(st.lists(st.one_of(_strings(False), st.integers(0, 2)), max_size=3))
    if col.type == "json":
        typed.append(_buckets() if col.name == "latency_buckets" else _json_object())
    return st.one_of(_text_value(col, kind), *typed)


def _cross_friendly(kind: str, row: dict[str, Any], draw: st.DrawFn) -> None:
    """Make cross-field checks bite: nearby timestamps, errors around requests, scores around the scale."""
    if kind == "service_samples" and draw(st.booleans()):
        r = draw(st.integers(0, 10))
        row["requests"], row["errors"] = str(r), str(draw(st.integers(0, 12)))
    if kind == "survey_responses" and draw(st.booleans()):
        row["score"], row["scale"] = (
            str(draw(st.integers(-1, 11))),
            draw(st.sampled_from(["nps", "likert5", "likert7"])),
        )


@st.composite
def text_rows(draw: st.DrawFn, kind: str, n: int) -> tuple[list[str], list[dict[str, str]]]:
    cols = [c for c in COLUMNS[kind] if c.required or draw(st.booleans())]
    rows = []
    for i in range(n):
        row = {c.name: draw(_text_value(c, kind)) if draw(st.integers(0, 3)) else _good_text(c, i) for c in cols}
        row["id"] = (
            draw(st.sampled_from(["", "", " ", "\t"])) + f"r{i}" if draw(st.integers(0, 9)) else draw(_strings(True))
        )
        _cross_friendly(kind, row, draw)
        rows.append(row)
    return [c.name for c in cols], rows


def _good_text(col: Column, i: int) -> str:
    if col.choices:
        return col.choices[i % len(col.choices)]
    return {
        "string": f"v{i}",
        "int": str(i % 4),
        "float": f"{(i % 10) / 10}",
        "bool": "true",
        "timestamp": f"2024-01-0{1 + i % 3}T10:0{i % 10}:00Z",
        "date": "2024-01-02",
        "string_list": '["a", "b"]',
        "json": '{"1": 2, "+Inf": 3}' if col.name == "latency_buckets" else '{"k": 1}',
    }[col.type]


# -- the comparison ---------------------------------------------------------------------------------------


def _reference(kind: str, row: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, str | None]:
    try:
        record = validate_record(kind, row)
    except RecordError as exc:
        return None, exc.field, exc.reason
    try:
        stored = rows_to_arrow(kind, [record.model_dump()]).to_pylist()[0]
    except (OverflowError, pa.ArrowInvalid):
        return None, "?", "is out of range for a 64-bit integer"  # pydantic takes any int; storage is 64-bit
    return stored, None, None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b) and type(a) is type(b)


def _compare(store: Store, kind: str, rows: list[dict[str, Any]], problems: dict[int, tuple[str, str]]) -> None:
    stored = {r["id"]: r for r in store.con.execute(f"SELECT * FROM {kind}").to_arrow_table().to_pylist()}
    references = [_reference(kind, row) for row in rows]
    last = {ref[0]["id"]: line for line, ref in enumerate(references) if ref[0] is not None}  # duplicates: last wins
    assert set(stored) == set(last)
    for line, row in enumerate(rows):
        expected, field, reason = references[line]
        if expected is None:
            assert line in problems, f"accepted a row pydantic rejects ({field}: {reason}): {row!r}"
            got_field, got_reason = problems[line]
            if field != "?":
                assert got_field == field, f"{row!r}: columnar {got_field}: {got_reason} vs pydantic {field}: {reason}"
                if got_reason not in ("Field required",):
                    assert got_reason == reason, f"{row!r}"
            continue
        assert line not in problems, f"rejected a row pydantic accepts ({problems[line]}): {row!r}"
        if last[expected["id"]] != line:
            continue
        got = stored[expected["id"]]
        for key, value in expected.items():
            assert _same(got[key], value), f"{key}: stored {got[key]!r}, pydantic {value!r} for {row!r}"


kinds = st.sampled_from(KINDS)


@pytest.mark.slow
@SETTINGS
@given(data=st.data(), kind=kinds)
def test_csv_files_agree_with_validate_record(store: Store, tmp_path: Path, data: st.DataObject, kind: str) -> None:
    names, rows = data.draw(text_rows(kind, 12))
    rows = [r for r in rows if "\n" not in "".join(r.values()) and "\r" not in "".join(r.values())]
    path = tmp_path / f"{kind}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=names, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    _reset(store, kind)
    result = ingest_files(store, kind, [path], on_error="quarantine")
    problems = {p.line - 2: (p.field, p.reason) for p in result.problems}  # line 1 is the header
    _compare(store, kind, rows, problems)


@pytest.mark.slow
@SETTINGS
@given(data=st.data(), kind=kinds)
def test_api_batches_and_jsonl_agree_with_validate_record(
    store: Store, tmp_path: Path, data: st.DataObject, kind: str
) -> None:
    rows = []
    for i in range(12):
        row: dict[str, Any] = {}
        for c in COLUMNS[kind]:
            if c.required or data.draw(st.integers(0, 2)):
                row[c.name] = data.draw(_typed_value(c, kind)) if data.draw(st.integers(0, 2)) else _good_text(c, i)
        row["id"] = f"r{i}" if data.draw(st.integers(0, 9)) else data.draw(st.one_of(_strings(True), st.integers()))
        if not data.draw(st.integers(0, 15)):
            row[data.draw(st.sampled_from(["bogus", "Id", " ts"]))] = "x"
        _cross_friendly(kind, row, data.draw)
        rows.append(row)
    _reset(store, kind)
    if data.draw(st.booleans(), label="as JSON Lines"):
        path = tmp_path / f"{kind}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        result = ingest_files(store, kind, [path], on_error="quarantine")
        problems = {p.line - 1: (p.field, p.reason) for p in result.problems if p.line is not None}
    else:
        result = ingest_records(store, kind, rows, on_error="quarantine")
        problems = {p.line: (p.field, p.reason) for p in result.problems if p.line is not None}
    _compare(store, kind, rows, problems)


def _arrow_column(col: Column, values: list[Any], as_text: bool) -> pa.Array:
    if as_text:
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    typ = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us"),
        "date": pa.date32(),
        "string_list": pa.list_(pa.string()),
    }.get(col.type, pa.string())
    return pa.array(values, typ)


@st.composite
def native_value(draw: st.DrawFn, col: Column) -> Any:
    if col.type == "int":
        return draw(st.one_of(st.none(), st.integers(-5, 2**62)))
    if col.type == "float":
        return draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-2, 20)))
    if col.type == "bool":
        return draw(st.one_of(st.none(), st.booleans()))
    if col.type == "timestamp":
        return draw(st.one_of(st.none(), near, datetimes))
    if col.type == "date":
        return draw(st.one_of(st.none(), st.dates(min_value=date(1, 1, 1))))
    if col.type == "string_list":
        return draw(st.one_of(st.none(), st.lists(_strings(False), max_size=3)))
    return draw(st.one_of(st.none(), _text_value(col, "")))


@pytest.mark.slow
@SETTINGS
@given(data=st.data(), kind=kinds)
def test_parquet_files_agree_with_validate_record(store: Store, tmp_path: Path, data: st.DataObject, kind: str) -> None:
    n = 10
    cols = [c for c in COLUMNS[kind] if c.required or data.draw(st.booleans())]
    arrays, rows = {}, [dict[str, Any]() for _ in range(n)]
    for c in cols:
        as_text = c.type in ("string", "json") or data.draw(st.booleans())
        if c.name == "id":
            values: list[Any] = [f"r{i}" for i in range(n)]
        elif as_text:
            values = [
                data.draw(
                    st.one_of(st.none(), _text_value(c, "")) if data.draw(st.booleans()) else st.just(_good_text(c, i))
                )
                for i in range(n)
            ]
        else:
            values = [data.draw(native_value(c)) for _ in range(n)]
        arrays[c.name] = _arrow_column(c, values, as_text)
        for row, v in zip(rows, arrays[c.name].to_pylist(), strict=True):
            row[c.name] = v
    path = tmp_path / f"{kind}.parquet"
    pq.write_table(pa.table(arrays), path)
    _reset(store, kind)
    result = ingest_files(store, kind, [path], on_error="quarantine")
    problems = {p.line - 1: (p.field, p.reason) for p in result.problems}  # Parquet rows are 1-based
    _compare(store, kind, rows, problems)


# -- timestamps ------------------------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dt=datetimes, off=offsets, style=st.integers(0, 2), sep=st.sampled_from(["T", " "]))
def test_timestamps_with_offsets_are_stored_in_utc(
    store: Store, dt: datetime, off: timedelta, style: int, sep: str
) -> None:
    text = dt.isoformat(sep=sep) + _offset_text(off, style)
    try:
        expected: datetime | None = (
            (dt.replace(tzinfo=timezone(off if style < 2 else timedelta(0)))).astimezone(UTC).replace(tzinfo=None)
        )
    except OverflowError:
        expected = None
    _reset(store, "changes")
    result = ingest_records(store, "changes", [{"id": "c", "service": "s", "created_at": text}], on_error="quarantine")
    got = store.con.execute("SELECT created_at FROM changes").fetchall()
    if expected is None:
        assert result.quarantined == 1 and result.problems[0].field == "created_at"
    else:
        assert got == [(expected,)], text
        assert parse_timestamp(text) == expected


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dt=datetimes, fmt=st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]))
def test_naive_timestamps_are_utc(store: Store, dt: datetime, fmt: str) -> None:
    text = dt.strftime(fmt) if dt.year >= 1000 else dt.isoformat()
    _reset(store, "changes")
    ingest_records(store, "changes", [{"id": "c", "service": "s", "created_at": text}])
    assert store.con.execute("SELECT created_at FROM changes").fetchall() == [(parse_timestamp(text),)]
    assert parse_timestamp(text) == datetime.fromisoformat(text)
