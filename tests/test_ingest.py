"""File ingestion through the library and the CLI: values, idempotency, updates, bad input, quarantine."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from northstar.cli import app
from northstar.ingest import IngestError, IngestRejected, ingest_files, ingest_records, pseudonym
from northstar.ingest.privacy import hmac_sql
from northstar.schema import ALL_TABLES, derive
from northstar.store import Store

DATA = Path(__file__).parent / "data" / "ingest"
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200", "NORTHSTAR_CONFIG": ""})


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted: compares the store's content, not just its counts."""
    with Store.open(db, read_only=True) as store:
        out = {}
        for name in (*ALL_TABLES, "quarantine"):
            rows = store.con.execute(f"SELECT * FROM {name}").fetchall()
            out[name] = sorted(rows, key=repr)
        return out


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store holding activity.csv."""
    path = tmp_path / "ns.duckdb"
    result = cli("ingest", "activity", str(DATA / "activity.csv"), "--db", str(path))
    assert result.exit_code == 0, result.output
    return path


def activity(db: Path) -> dict[str, tuple[Any, ...]]:
    with Store.open(db, read_only=True) as store:
        rows = store.con.execute("SELECT id, ts, actor, team, component, action, properties FROM activity").fetchall()
    return {r[0]: r[1:] for r in rows}


# -- loading -----------------------------------------------------------------------------------------------


def test_csv_values_are_typed_and_utc(db: Path) -> None:
    rows = activity(db)
    assert rows == {
        "e1": (datetime(2025, 3, 3, 9, 0), "alice", "search", "tracking", "log_run", None),
        "e2": (
            datetime(2025, 3, 3, 9, 30),
            "bob",
            "search",
            "registry",
            "register_model",
            '{"model":"ranker","stage":"prod"}',
        ),
        "e3": (datetime(2025, 3, 3, 10, 15), "carol", None, "serving", "deploy", None),
        "e4": (datetime(2025, 3, 4, 5, 30), "alice", "search", "serving", "deploy", "{}"),
        "e5": (datetime(2025, 3, 4, 0, 0), "dave", "ads", "tracking", "log_run", None),
    }


def test_summary_line(tmp_path: Path) -> None:
    result = cli("ingest", "activity", str(DATA / "activity.csv"), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("activity: 5 inserted, 0 updated, 0 unchanged, 0 quarantined (1 file, ")
    assert line.endswith(" rows/s)")


def test_same_file_twice_leaves_no_duplicates(db: Path) -> None:
    before = snapshot(db)
    result = cli("ingest", "activity", str(DATA / "activity.csv"), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("activity: 0 inserted, 0 updated, 5 unchanged, 0 quarantined")
    assert snapshot(db) == before


def test_changed_row_is_updated_and_replaces_the_old_one(db: Path) -> None:
    result = cli("ingest", "activity", str(DATA / "activity_changed.csv"), "--db", str(db))
    assert result.stdout.startswith("activity: 1 inserted, 1 updated, 1 unchanged, 0 quarantined")
    rows = activity(db)
    assert len(rows) == 6
    assert rows["e3"] == (datetime(2025, 3, 3, 10, 15), "carol", "ads", "serving", "deploy", None)
    assert rows["e6"][1] == "erin"


def test_duplicate_ids_in_one_call_keep_the_last(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text(
        '{"id": "x", "ts": "2025-01-01", "actor": "a", "component": "c", "action": "one"}\n'
        '{"id": "x", "ts": "2025-01-01", "actor": "a", "component": "c", "action": "two"}\n'
    )
    second = tmp_path / "b.csv"
    second.write_text("id,ts,actor,component,action\nx,2025-01-01,a,c,three\ny,2025-01-01,a,c,four\n")
    with Store.open(tmp_path / "d.duckdb") as store:
        result = ingest_files(store, "activity", [first, second])
        assert (result.inserted, result.updated, result.unchanged, result.rows) == (2, 0, 0, 4)
        assert store.con.execute("SELECT id, action FROM activity ORDER BY id").fetchall() == [
            ("x", "three"),
            ("y", "four"),
        ]


def test_jsonl_csv_parquet_and_gzip_load_the_same_rows(tmp_path: Path) -> None:
    csv_gz = tmp_path / "a.csv.gz"
    csv_gz.write_bytes(gzip.compress((DATA / "activity.csv").read_bytes()))
    parquet = tmp_path / "a.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["e1", "e2", "e3", "e4", "e5"],
                "ts": pa.array(
                    [
                        datetime(2025, 3, 3, 9),
                        datetime(2025, 3, 3, 9, 30),
                        datetime(2025, 3, 3, 10, 15),
                        datetime(2025, 3, 4, 5, 30),
                        datetime(2025, 3, 4),
                    ],
                    pa.timestamp("ms"),
                ),
                "actor": ["alice", "bob", "carol", "alice", "dave"],
                "team": ["search", "search", None, "search", "ads"],
                "component": ["tracking", "registry", "serving", "serving", "tracking"],
                "action": ["log_run", "register_model", "deploy", "deploy", "log_run"],
                "properties": [None, '{"stage": "prod", "model": "ranker"}', None, "{}", None],
            }
        ),
        parquet,
    )
    expected = None
    for path in (DATA / "activity.csv", csv_gz, parquet):
        db = tmp_path / f"{path.name}.duckdb"
        result = cli("ingest", "activity", str(path), "--db", str(db))
        assert result.exit_code == 0, result.output
        rows = activity(db)
        expected = expected or rows
        assert rows == expected, path


def test_jsonl_values_and_blank_lines(tmp_path: Path) -> None:
    with Store.open(tmp_path / "j.duckdb") as store:
        result = ingest_files(store, "activity", [DATA / "activity.jsonl"])
        assert (result.inserted, result.rows) == (3, 3)
        assert store.con.execute("SELECT id, ts, team, properties FROM activity ORDER BY id").fetchall() == [
            ("j1", datetime(2025, 3, 3, 9), "search", None),
            ("j2", datetime(2025, 3, 3, 9, 30), None, '{"model":"ranker"}'),
            ("j3", datetime(2025, 3, 3, 12), None, None),
        ]


def test_jsonl_problems_name_their_physical_lines(tmp_path: Path) -> None:
    with Store.open(tmp_path / "j.duckdb") as store, pytest.raises(IngestRejected) as err:
        ingest_files(store, "activity", [DATA / "activity_bad.jsonl"])
    path = DATA / "activity_bad.jsonl"
    assert [str(p) for p in err.value.problems] == [
        f"{path}:2: record: invalid JSON: Expecting property name enclosed in double quotes at column 105",
        f"{path}:3: record: expected a JSON object, got an array",
        f"{path}:4: ts: not a timestamp: 1741000000",
        f"{path}:5: colour: Extra inputs are not permitted",
    ]


def test_service_samples_keep_latency_buckets_in_step(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        ingest_files(store, "service_samples", [DATA / "service_samples.jsonl"])
        samples = store.con.execute("SELECT * FROM service_samples ORDER BY id").to_arrow_table()
        expected = derive("service_samples", samples)["latency_buckets"].to_pylist()
        got = store.con.execute("SELECT * FROM latency_buckets").to_arrow_table().to_pylist()
        assert sorted(got, key=repr) == sorted(expected, key=repr)
        assert len(got) == 5
        ingest_records(
            store,
            "service_samples",
            [
                {
                    "id": "s1",
                    "service": "ranker",
                    "ts": "2025-03-03T09:00:00Z",
                    "requests": 10,
                    "errors": 0,
                    "latency_buckets": {"1": 10, "+Inf": 10},
                }
            ],
        )
        rows = store.con.execute("SELECT le, count FROM latency_buckets WHERE sample_id = 's1' ORDER BY le").fetchall()
        assert rows == [(1.0, 10.0), (float("inf"), 10.0)]
        assert store.counts()["latency_buckets"] == 4


# -- bad input: exit 2, PATH:LINE, store unchanged ------------------------------------------------------------


def _latin1(tmp: Path) -> Path:
    p = tmp / "latin1.csv"
    p.write_bytes("id,ts,actor,component,action\nx,2025-01-01,Jos\xe9,c,a\n".encode("latin-1"))
    return p


def _truncated_gz(tmp: Path) -> Path:
    p = tmp / "cut.csv.gz"
    data = gzip.compress((DATA / "activity.csv").read_bytes() * 50)
    p.write_bytes(data[: len(data) // 2])
    return p


def _truncated_jsonl_gz(tmp: Path) -> Path:
    p = tmp / "cut.jsonl.gz"
    data = gzip.compress((DATA / "activity.jsonl").read_bytes() * 50)
    p.write_bytes(data[: len(data) // 2])
    return p


BAD_INPUTS = {
    "bad timestamp": (
        "activity",
        lambda t: DATA / "activity_bad_timestamp.csv",
        ["activity_bad_timestamp.csv:3: ts: not an ISO-8601 timestamp: '05/03/2025 08:00'"],
    ),
    "missing required field": (
        "activity",
        lambda t: DATA / "activity_missing_field.csv",
        ["activity_missing_field.csv:4: actor: Field required"],
    ),
    "wrong type": (
        "deployments",
        lambda t: DATA / "deployments_wrong_type.csv",
        [
            "deployments_wrong_type.csv:3: manual_steps: Input should be a valid integer, unable to parse string as an"
            " integer",
            "deployments_wrong_type.csv:4: status: Input should be 'succeeded', 'failed' or 'rolled_back'",
            "deployments_wrong_type.csv:5: finished_at: is before started_at",
        ],
    ),
    "unknown kind": ("activities", lambda t: DATA / "activity.csv", ["unknown kind 'activities'", "activity, changes"]),
    "unknown column": (
        "activity",
        lambda t: DATA / "activity_unknown_column.csv",
        ["activity_unknown_column.csv:1: unknown column colour; activity has: id, ts,"],
    ),
    "truncated gzip": ("activity", _truncated_gz, ["cut.csv.gz: truncated or corrupt gzip file"]),
    "truncated gzip jsonl": ("activity", _truncated_jsonl_gz, ["cut.jsonl.gz: truncated or corrupt gzip file"]),
    "not utf-8": ("activity", _latin1, ["latin1.csv:2: not UTF-8 text"]),
    "missing file": ("activity", lambda t: t / "nope.csv", ["nope.csv: no such file"]),
    "a folder": ("activity", lambda t: DATA, ["is a folder"]),
    "unknown format": (
        "activity",
        lambda t: (t / "a.txt").write_text("x") and t / "a.txt",
        ["a.txt: unknown file format '.txt'; expected .csv, .json, .jsonl"],
    ),
    "unreadable parquet": (
        "activity",
        lambda t: (t / "x.parquet").write_text("hello") and t / "x.parquet",
        ["x.parquet: not a readable Parquet file"],
    ),
    "ragged csv": (
        "activity",
        lambda t: (t / "r.csv").write_text("id,ts,actor,component,action\nx,2025-01-01,a,c\n") and t / "r.csv",
        ["r.csv:2: expected 5 fields (as in the header), found 4"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_location_and_leaves_store_unchanged(case: str, db: Path, tmp_path: Path) -> None:
    kind, make, expected = BAD_INPUTS[case]
    path = make(tmp_path)
    before = snapshot(db)
    result = cli("ingest", kind, str(path), "--db", str(db))
    assert result.exit_code == 2, result.output
    for text in expected:
        assert text in result.output, result.output
    assert "error:" in result.output
    assert snapshot(db) == before


def test_one_bad_file_rejects_every_file_of_the_call(db: Path) -> None:
    before = snapshot(db)
    result = cli(
        "ingest",
        "activity",
        str(DATA / "activity_changed.csv"),
        str(DATA / "activity_bad_timestamp.csv"),
        "--db",
        str(db),
    )
    assert result.exit_code == 2
    assert snapshot(db) == before


def test_reject_prints_the_first_20_problems_then_a_count(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("id,ts,actor,component,action\n" + "".join(f"x{i},never,a,c,d\n" for i in range(25)))
    result = cli("ingest", "activity", str(path), "--db", str(tmp_path / "m.duckdb"))
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.startswith(str(path))]
    assert len(lines) == 20
    assert lines[0] == f"{path}:2: ts: not an ISO-8601 timestamp: 'never'"
    assert lines[-1].startswith(f"{path}:21: ts:")
    assert "… and 5 more problems" in result.output
    assert "25 bad rows" in result.output


# -- quarantine ------------------------------------------------------------------------------------------------


def test_quarantine_loads_good_rows_and_keeps_bad_ones(db: Path) -> None:
    path = DATA / "deployments_wrong_type.csv"
    result = cli("ingest", "deployments", str(path), "--db", str(db), "--on-error", "quarantine")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deployments: 1 inserted, 0 updated, 0 unchanged, 3 quarantined")
    with Store.open(db, read_only=True) as store:
        assert store.con.execute("SELECT id, change_ids, manual_steps FROM deployments").fetchall() == [
            ("d1", ["c1", "c2"], 0)
        ]
    listed = cli("quarantine", "--db", str(db), "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["kind"], r["path"], r["line"], r["field"]) for r in rows] == [
        ("deployments", str(path), 3, "manual_steps"),
        ("deployments", str(path), 4, "status"),
        ("deployments", str(path), 5, "finished_at"),
    ]
    assert rows[0]["raw"] == "d2,ranker,search,production,succeeded,2025-03-04T09:00:00Z,2025-03-04T09:10:00Z,[],two"
    assert rows[1]["reason"] == "Input should be 'succeeded', 'failed' or 'rolled_back'"
    # filtered by kind, and as CSV
    assert json.loads(cli("quarantine", "--db", str(db), "--kind", "activity", "-f", "json").stdout) == []
    csv_out = cli("quarantine", "--db", str(db), "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "kind,path,line,field,reason,raw,quarantined_at" and len(csv_out) == 4
    # quarantining the same rows again does not list them twice
    cli("ingest", "deployments", str(path), "--db", str(db), "--on-error", "quarantine")
    assert len(json.loads(cli("quarantine", "--db", str(db), "-f", "json").stdout)) == 3
    cleared = cli("quarantine", "--db", str(db), "--clear", "-f", "json")
    assert cleared.exit_code == 0 and len(json.loads(cleared.stdout)) == 3
    assert json.loads(cli("quarantine", "--db", str(db), "-f", "json").stdout) == []


def test_quarantine_of_parquet_rows_uses_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "headcount": pa.array([3, -1, None], pa.int64())}), path)
    with Store.open(tmp_path / "p.duckdb") as store:
        result = ingest_files(store, "teams", [path], on_error="quarantine")
        assert (result.inserted, result.quarantined) == (2, 1)
        assert [str(p) for p in result.problems] == [
            f"{path}:row 2: headcount: Input should be greater than or equal to 0"
        ]
        assert json.loads(result.problems[0].raw or "") == {"id": "b", "headcount": -1}


# -- API batches and privacy -------------------------------------------------------------------------------------


def test_records_report_their_index(tmp_path: Path) -> None:
    with Store.open(tmp_path / "r.duckdb") as store:
        rows = [{"id": "t1", "headcount": 3}, {"id": "t2", "headcount": "many"}, "nonsense"]
        with pytest.raises(IngestRejected) as err:
            ingest_records(store, "teams", rows, source="POST /ingest/teams")
        assert [str(p) for p in err.value.problems] == [
            "POST /ingest/teams:1: headcount: Input should be a valid integer, unable to parse string as an integer",
            "POST /ingest/teams:2: record: expected an object, got a string",
        ]
        assert store.counts()["teams"] == 0


def test_unknown_kind_names_the_kinds(tmp_path: Path) -> None:
    with Store.open(tmp_path / "k.duckdb") as store, pytest.raises(IngestError, match="the kinds are: teams, people"):
        ingest_files(store, "teamz", [DATA / "activity.csv"])


def test_pseudonymize_replaces_people_ids_with_keyed_hashes(tmp_path: Path) -> None:
    with Store.open(tmp_path / "p.duckdb") as store:
        ingest_files(store, "activity", [DATA / "activity.csv"], pseudonymize=True, key="s3cret")
        ingest_records(store, "people", [{"id": "alice", "team": "search"}], pseudonymize=True, key="s3cret")
        actors = {r[0] for r in store.con.execute("SELECT actor FROM activity").fetchall()}
        assert actors == {pseudonym(b"s3cret", n) for n in ("alice", "bob", "carol", "dave")}
        assert store.con.execute("SELECT id FROM people").fetchall() == [(pseudonym(b"s3cret", "alice"),)]
        # without a key, one is generated once and kept
        ingest_records(
            store,
            "support_messages",
            [{"id": "m", "ts": "2025-01-01", "channel": "c", "author": "bob"}],
            pseudonymize=True,
        )
        key = store.pseudonym_key()
        assert store.con.execute("SELECT author FROM support_messages").fetchall() == [(pseudonym(key, "bob"),)]
        assert store.pseudonym_key() == key


_duck = duckdb.connect()


@settings(max_examples=100, deadline=None)
@given(key=st.binary(min_size=1, max_size=100), value=st.text(max_size=50))
def test_sql_hmac_equals_python_hmac(key: bytes, value: str) -> None:
    assert _duck.execute(f"SELECT {hmac_sql(key, '?')}", [value]).fetchone() == (pseudonym(key, value),)


def test_ingest_help_has_an_example() -> None:
    result = cli("ingest", "--help")
    assert result.exit_code == 0
    assert "northstar ingest activity" in result.output and "--on-error" in result.output


def test_config_pseudonymize_applies_to_cli_ingest(tmp_path: Path) -> None:
    config = tmp_path / "northstar.yaml"
    config.write_text("privacy:\n  pseudonymize: true\n  key: k3y\n")
    db = tmp_path / "p.duckdb"
    result = cli("ingest", "activity", str(DATA / "activity.csv"), "--db", str(db), "--config", str(config))
    assert result.exit_code == 0, result.output
    actors = {r[1] for r in activity(db).values()}
    assert actors == {pseudonym(b"k3y", n) for n in ("alice", "bob", "carol", "dave")}


def test_every_model_validator_has_a_columnar_check() -> None:
    from northstar.ingest.validate import CROSS_CHECKS
    from northstar.records import MODELS

    for kind, model in MODELS.items():
        n = len(model.__pydantic_decorators__.model_validators)
        assert len(CROSS_CHECKS.get(kind, [])) == n, f"{kind}: {n} model validators in records.py"


def test_header_problems_reject_the_file_even_in_quarantine_mode(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.duckdb") as store:
        with pytest.raises(IngestError, match="unknown column colour"):
            ingest_files(store, "activity", [DATA / "activity_unknown_column.csv"], on_error="quarantine")
        missing = tmp_path / "m.csv"
        missing.write_text("id,actor,component,action\nx,a,c,d\n")
        with pytest.raises(IngestError, match=r"m.csv:1: missing required column ts"):
            ingest_files(store, "activity", [missing], on_error="quarantine")
        assert store.counts()["activity"] == 0 and store.quarantined() == []


def test_progress_bar_can_be_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(tmp_path / "b.duckdb") as store:
        result = ingest_files(store, "activity", [DATA / "activity.csv", DATA / "activity.jsonl"], progress=True)
    assert (result.inserted, result.files) == (8, 2)
    assert capsys.readouterr().out == ""


def test_csv_lines_are_physical_lines_with_bom_crlf_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        "\ufeffid,ts,actor,component,action,properties\r\n"
        'e1,2025-01-01,a,c,"multi\r\nline action",\r\n'
        "\r\n"
        "e2,yesterday,a,c,d,\r\n"
        'e3,2025-01-01,a,c,d,"{""k"":\r\n ""two lines""}"\r\n'
        "e4,2025-01-01,,c,d,\r\n".encode()
    )
    with Store.open(tmp_path / "o.duckdb") as store:
        result = ingest_files(store, "activity", [path], on_error="quarantine")
        assert [(p.line, p.field, p.raw) for p in result.problems] == [
            (5, "ts", "e2,yesterday,a,c,d,"),
            (8, "actor", "e4,2025-01-01,,c,d,"),
        ]
        assert store.con.execute("SELECT id, action, properties FROM activity ORDER BY id").fetchall() == [
            ("e1", "multi\r\nline action", None),
            ("e3", "d", '{"k":"two lines"}'),
        ]
