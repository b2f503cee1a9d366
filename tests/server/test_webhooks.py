"""Webhooks, on payloads shaped as the providers document them: signature checked, records stored once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Api

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s3cret"


def _body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def _headers(provider: str, body: bytes, event: str = "", secret: str = SECRET) -> dict[str, str]:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if provider == "github":
        return {"X-GitHub-Event": event, "X-GitHub-Delivery": "d1", "X-Hub-Signature-256": f"sha256={sig}"}
    if provider == "gitlab":
        return {"X-Gitlab-Event": event, "X-Gitlab-Token": secret}
    if provider == "pagerduty":
        return {"X-PagerDuty-Signature": f"v1=0000,v1={sig}"}
    signed = b"del-1.1767000000." + body
    b64 = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return {"X-MLflow-Delivery-Id": "del-1", "X-MLflow-Timestamp": "1767000000", "X-MLflow-Signature": f"v1,{b64}"}


@pytest.fixture
def hooks(api: Api) -> Api:
    api.state.webhook_secrets.update(github=SECRET, gitlab=SECRET, pagerduty=SECRET, mlflow=SECRET)
    return api


def _post(api: Api, provider: str, name: str, event: str = "") -> Any:
    body = _body(name)
    return api.client.post(f"/webhooks/{provider}", content=body, headers=_headers(provider, body, event))


def _rows(api: Api, sql: str) -> list[tuple[Any, ...]]:
    with api.state.cursor() as cur:
        return [tuple(r) for r in cur.execute(sql).fetchall()]


def test_github(hooks: Api) -> None:
    r = _post(hooks, "github", "github_push", "push")
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == {"changes": {"inserted": 2, "updated": 0, "unchanged": 0}}
    _post(hooks, "github", "github_pull_request", "pull_request")
    assert _post(hooks, "github", "github_deployment_status", "deployment_status").status_code == 200
    changes = _rows(hooks, "SELECT id, service, kind, created_at::VARCHAR FROM changes ORDER BY created_at")
    assert changes == [
        ("f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4", "ranker", "code", "2026-01-05 08:12:00"),  # +01:00 → UTC
        ("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "ranker", "code", "2026-01-05 09:30:00"),
        ("9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a", "ranker", "code", "2026-01-06 08:00:00"),
    ]
    deps = _rows(
        hooks, "SELECT id, environment, status, started_at::VARCHAR, finished_at::VARCHAR, change_ids FROM deployments"
    )
    assert deps == [
        (
            "github:145988746",
            "production",
            "succeeded",
            "2026-01-07 11:50:00",
            "2026-01-07 12:05:00",
            ["9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a"],
        )
    ]
    again = _post(hooks, "github", "github_push", "push").json()  # a redelivery stores nothing twice
    assert again["stored"]["changes"]["unchanged"] == 2


def test_github_ignores_other_events(hooks: Api) -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    r = hooks.client.post("/webhooks/github", content=body, headers=_headers("github", body, "ping"))
    assert r.status_code == 200 and r.json()["ignored"] is True
    pending = json.loads(_body("github_deployment_status"))
    pending["deployment_status"]["state"] = "in_progress"
    body = json.dumps(pending).encode()
    r = hooks.client.post("/webhooks/github", content=body, headers=_headers("github", body, "deployment_status"))
    assert r.json()["ignored"] is True
    assert _rows(hooks, "SELECT count(*) FROM deployments") == [(0,)]


def test_gitlab(hooks: Api) -> None:
    assert _post(hooks, "gitlab", "gitlab_push", "Push Hook").status_code == 200
    assert _post(hooks, "gitlab", "gitlab_deployment", "Deployment Hook").status_code == 200
    assert _rows(hooks, "SELECT count(*), min(service) FROM changes") == [(2, "feature-pipeline")]
    deps = _rows(hooks, "SELECT id, environment, status, finished_at::VARCHAR, change_ids FROM deployments")
    assert deps == [
        ("gitlab:15", "production", "succeeded", "2021-04-28 19:50:00", ["da1560886d4f094c3e6c9ef40349f7d38b5d27d7"])
    ]


def test_pagerduty_triggered_then_resolved(hooks: Api) -> None:
    assert _post(hooks, "pagerduty", "pagerduty_triggered").status_code == 200
    assert _rows(hooks, "SELECT resolved_at FROM incidents") == [(None,)]
    r = _post(hooks, "pagerduty", "pagerduty_resolved")
    assert r.json()["stored"]["incidents"]["updated"] == 1
    rows = _rows(hooks, "SELECT id, service, severity, opened_at::VARCHAR, resolved_at::VARCHAR FROM incidents")
    assert rows == [("pagerduty:PGR0VU2", "ranker", "P1", "2026-01-07 13:00:00", "2026-01-07 13:45:00")]


def test_mlflow_promotion_times(hooks: Api) -> None:
    assert _post(hooks, "mlflow", "mlflow_model_version_created").status_code == 200
    assert _post(hooks, "mlflow", "mlflow_model_version_alias_created").status_code == 200
    assert _rows(hooks, "SELECT id, kind, created_at::VARCHAR FROM changes") == [
        ("ranker/7", "model", "2026-01-07 09:30:00")
    ]
    assert _rows(hooks, "SELECT environment, finished_at::VARCHAR, change_ids, model_version FROM deployments") == [
        ("production", "2026-01-07 12:20:00", ["ranker/7"], "7")
    ]


@pytest.mark.parametrize("provider", ["github", "gitlab", "pagerduty", "mlflow"])
def test_bad_signature_is_rejected_and_logged(hooks: Api, provider: str, caplog: pytest.LogCaptureFixture) -> None:
    name = {"github": "github_push", "gitlab": "gitlab_push", "pagerduty": "pagerduty_triggered"}.get(
        provider, "mlflow_model_version_created"
    )
    body = _body(name)
    headers = _headers(provider, body, "push" if provider == "github" else "Push Hook", secret="wrong")
    with caplog.at_level(logging.WARNING, logger="northstar.server.webhooks"):
        r = hooks.client.post(f"/webhooks/{provider}", content=body, headers=headers)
    assert r.status_code == 401
    assert f"rejected a {provider} webhook" in caplog.text
    tampered = body.replace(b"ranker", b"r4nker").replace(b"feature-pipeline", b"f")
    r = hooks.client.post(f"/webhooks/{provider}", content=tampered, headers=_headers(provider, body, "push"))
    assert r.status_code == 401 or provider == "gitlab"  # GitLab sends a shared token, not a body signature
    assert _rows(hooks, "SELECT count(*) FROM changes") == [(0,) if provider != "gitlab" else (2,)]


def test_unconfigured_provider_is_404(api: Api) -> None:
    body = _body("github_push")
    assert (
        api.client.post("/webhooks/github", content=body, headers=_headers("github", body, "push")).status_code == 404
    )
