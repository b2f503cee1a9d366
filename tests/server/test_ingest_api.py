"""POST /v1/records/{kind}: all or nothing, idempotent, size-limited, token-scoped."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import Api, activity


def test_batch_is_stored_and_counted(api: Api) -> None:
    rows = [activity(i) for i in range(10)]
    r = api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest"))
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": "activity", "received": 10, "inserted": 10, "updated": 0, "unchanged": 0}
    assert api.count("activity") == 10


def test_retry_is_idempotent_and_a_changed_copy_updates(api: Api) -> None:
    rows = [activity(i) for i in range(5)]
    api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest"))
    again = api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest")).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 5)
    rows[2]["action"] = "deploy"
    changed = api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest")).json()
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 4)
    assert api.count("activity") == 5


def test_ndjson_body(api: Api) -> None:
    body = "\n".join(json.dumps(activity(i)) for i in range(3)) + "\n"
    r = api.client.post(
        "/v1/records/activity",
        content=body,
        headers={**api.headers("ingest"), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 3


def test_bad_record_rejects_the_whole_batch(api: Api) -> None:
    rows = [activity(0), activity(1, ts="yesterday"), activity(2), {"id": "x"}, 7]
    r = api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest"))
    assert r.status_code == 422
    body = r.json()
    assert "nothing was stored" in body["detail"]
    by_index = {e["index"]: e for e in body["errors"]}
    assert set(by_index) == {1, 3, 4}
    assert by_index[1]["field"] == "ts"
    assert by_index[1]["message"].startswith("1: ts: ")
    assert by_index[4]["field"] == "record"
    assert api.count("activity") == 0


def test_other_kinds_use_the_same_validator(api: Api) -> None:
    dep = {"id": "d1", "service": "ranker", "status": "succeeded", "finished_at": "2026-01-02T00:00:00"}
    bad = {**dep, "id": "d2", "started_at": "2026-01-03T00:00:00"}  # started after finished
    r = api.client.post("/v1/records/deployments", json=[dep, bad], headers=api.headers("ingest"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "1: finished_at: is before started_at"
    r = api.client.post("/v1/records/deployments", json=[dep], headers=api.headers("ingest"))
    assert r.status_code == 200 and api.count("deployments") == 1


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/records/nope", b"[]", 404),
        ("/v1/records/activity", b"[{", 400),
        ("/v1/records/activity", b'{"id": "a"}', 400),
        ("/v1/records/activity", b'{"id": "a"}\n{oops', 400),
        ("/v1/records/activity", b"\xff\xfe", 400),
    ],
)
def test_malformed_requests(api: Api, path: str, body: bytes, status: int) -> None:
    r = api.client.post(path, content=body, headers={**api.headers("ingest"), "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_body_over_the_limit_is_413_and_nothing_stored(api: Api) -> None:
    rows = [activity(i, properties={"pad": "x" * 1000}) for i in range(100)]  # ~100 kB > 64 kB
    r = api.client.post("/v1/records/activity", json=rows, headers=api.headers("ingest"))
    assert r.status_code == 413
    assert api.count("activity") == 0

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(100):
            yield b" " * 1024

    r = api.client.post("/v1/records/activity", content=chunks(), headers=api.headers("ingest"))
    assert r.status_code == 413


def test_empty_batch(api: Api) -> None:
    r = api.client.post("/v1/records/activity", json=[], headers=api.headers("ingest"))
    assert r.status_code == 200
    assert r.json()["received"] == 0
