"""Webhook receivers: GitHub, GitLab, PagerDuty (v3) and MLflow registry events → changes, deployments, incidents.

Each provider proves itself with its own signature, checked on the raw body with the secret given to
`northstar serve` (env NORTHSTAR_GITHUB_SECRET, NORTHSTAR_GITLAB_TOKEN, NORTHSTAR_PAGERDUTY_SECRET,
NORTHSTAR_MLFLOW_SECRET); a provider without a secret is not mounted (404), a bad signature is 401 and logged.
The records go through the same validator and transaction as `POST /v1/records/{kind}`; ids are derived from
the provider's own ids, so a redelivered webhook stores nothing twice.

- GitHub (`X-Hub-Signature-256: sha256=<hex>`): `push` → changes, merged `pull_request` → a change,
  `deployment_status` (success, failure, error) → a deployment.
- GitLab (`X-Gitlab-Token`): `Push Hook` → changes, `Deployment Hook` (success, failed, canceled) → a deployment.
- PagerDuty v3 (`X-PagerDuty-Signature: v1=<hex>`): `incident.triggered`, `incident.resolved` → an incident.
- MLflow (`X-MLflow-Signature: v1,<base64>` over `delivery_id.timestamp.body`): `model_version.created` → a
  model change, `model_version_alias.created` → a deployment at the exact promotion time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from northstar.server.state import ServerState

__all__ = ["PRODUCTION_ALIASES", "from_github", "from_gitlab", "from_mlflow", "from_pagerduty", "mount"]

log = logging.getLogger("northstar.server.webhooks")
Records = list[tuple[str, list[dict[str, Any]]]]
PRODUCTION_ALIASES = frozenset({"production", "prod", "champion", "live"})
"""MLflow aliases that mean "serving in production"; other aliases are recorded under their own environment."""


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _repo(payload: dict[str, Any]) -> str:
    repo = payload.get("repository") or payload.get("project") or {}
    return str(repo.get("name") or repo.get("full_name") or repo.get("path_with_namespace") or "unknown")


# -- payload → records (pure functions, tested on the providers' documented examples) --------------------
def from_github(event: str, p: dict[str, Any]) -> Records:
    """GitHub `push` → changes per commit; merged `pull_request` → a change; `deployment_status` → a deployment."""
    service = _repo(p)
    if event == "push":
        rows = [
            {"id": c["id"], "service": service, "kind": "code", "created_at": c["timestamp"]}
            for c in p.get("commits") or []
            if c.get("id") and c.get("timestamp")
        ]
        return [("changes", rows)] if rows else []
    if event == "pull_request":
        pr = p.get("pull_request") or {}
        if p.get("action") != "closed" or not pr.get("merged") or not pr.get("merge_commit_sha"):
            return []
        row = {"id": pr["merge_commit_sha"], "service": service, "kind": "code", "created_at": pr.get("created_at")}
        return [("changes", [row])]
    if event == "deployment_status":
        st, dep = p.get("deployment_status") or {}, p.get("deployment") or {}
        status = {"success": "succeeded", "failure": "failed", "error": "failed"}.get(str(st.get("state")))
        if status is None:
            return []
        row = {
            "id": f"github:{dep.get('id')}",
            "service": service,
            "environment": st.get("environment") or dep.get("environment") or "production",
            "status": status,
            "started_at": dep.get("created_at"),
            "finished_at": st.get("created_at") or st.get("updated_at"),
            "change_ids": [dep["sha"]] if dep.get("sha") else [],
        }
        return [("deployments", [row])]
    return []


def _gitlab_time(text: str | None) -> str | None:
    """GitLab writes `2021-04-28 21:50:00 +0200` in deployment hooks; ISO-8601 elsewhere."""
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z"):
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return text


def from_gitlab(event: str, p: dict[str, Any]) -> Records:
    """GitLab `Push Hook` → changes per commit; `Deployment Hook` (finished) → a deployment."""
    service = _repo(p)
    kind = p.get("object_kind")
    if event == "Push Hook" or kind == "push":
        rows = [
            {"id": c["id"], "service": service, "kind": "code", "created_at": c["timestamp"]}
            for c in p.get("commits") or []
            if c.get("id") and c.get("timestamp")
        ]
        return [("changes", rows)] if rows else []
    if event == "Deployment Hook" or kind == "deployment":
        status = {"success": "succeeded", "failed": "failed", "canceled": "failed"}.get(str(p.get("status")))
        if status is None:
            return []
        sha = str(p.get("commit_url") or "").rstrip("/").rsplit("/", 1)[-1] or p.get("short_sha")
        row = {
            "id": f"gitlab:{p.get('deployment_id')}",
            "service": service,
            "environment": p.get("environment") or "production",
            "status": status,
            "finished_at": _gitlab_time(p.get("status_changed_at")),
            "change_ids": [sha] if sha else [],
        }
        return [("deployments", [row])]
    return []


def from_pagerduty(p: dict[str, Any]) -> Records:
    """PagerDuty v3 `incident.triggered` / `incident.resolved` → an incident (opened, then resolved)."""
    ev = p.get("event") or {}
    kind = ev.get("event_type")
    data = ev.get("data") or {}
    if kind not in ("incident.triggered", "incident.resolved") or data.get("type", "incident") != "incident":
        return []
    priority = data.get("priority") or {}
    row = {
        "id": f"pagerduty:{data.get('id')}",
        "service": (data.get("service") or {}).get("summary") or (data.get("service") or {}).get("id"),
        "severity": priority.get("summary") or data.get("urgency"),
        "opened_at": data.get("created_at") or ev.get("occurred_at"),
        "resolved_at": ev.get("occurred_at") if kind == "incident.resolved" else None,
    }
    return [("incidents", [row])]


def from_mlflow(p: dict[str, Any]) -> Records:
    """MLflow `model_version.created` → a model change; `model_version_alias.created` → a promotion (deployment)."""
    event = f"{p.get('entity')}.{p.get('action')}"
    data = p.get("data") or {}
    name, version = data.get("name"), data.get("version")
    when = p.get("timestamp")
    if event == "model_version.created":
        return [("changes", [{"id": f"{name}/{version}", "service": name, "kind": "model", "created_at": when}])]
    if event == "model_version_alias.created":
        alias = str(data.get("alias") or "")
        env = "production" if alias.lower() in PRODUCTION_ALIASES else alias
        row = {
            "id": f"mlflow:{name}:{alias}:{version}",
            "service": name,
            "environment": env,
            "status": "succeeded",
            "finished_at": when,
            "change_ids": [f"{name}/{version}"],
            "model_version": str(version),
        }
        return [("deployments", [row])]
    return []


# -- signatures --------------------------------------------------------------------------------------------
def _verify(provider: str, secret: str, request: Request, body: bytes) -> bool:
    h = request.headers
    if provider == "github":
        return hmac.compare_digest(h.get("x-hub-signature-256", ""), "sha256=" + _hmac_hex(secret, body))
    if provider == "gitlab":
        return hmac.compare_digest(h.get("x-gitlab-token", ""), secret)
    if provider == "pagerduty":
        expected = "v1=" + _hmac_hex(secret, body)
        return any(hmac.compare_digest(s.strip(), expected) for s in h.get("x-pagerduty-signature", "").split(","))
    delivery, stamp = h.get("x-mlflow-delivery-id", ""), h.get("x-mlflow-timestamp", "")
    signed = f"{delivery}.{stamp}.".encode() + body
    digest = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return bool(delivery and stamp) and hmac.compare_digest(h.get("x-mlflow-signature", ""), f"v1,{digest}")


def _store(state: ServerState, records: Records) -> dict[str, Any]:
    from northstar.ingest import IngestRejected, ingest_records

    out: dict[str, Any] = {}
    with state.write_lock, state.store.transaction():
        for kind, rows in records:
            try:
                r = ingest_records(state.store, kind, rows, source=f"webhook:{kind}")
            except IngestRejected as exc:
                raise HTTPException(422, "; ".join(exc.details(5))) from None
            out[kind] = {"inserted": r.inserted, "updated": r.updated, "unchanged": r.unchanged}
    return out


def mount(app: FastAPI, state: ServerState, require: Callable[[str], Any]) -> None:
    """Add `POST /webhooks/{github,gitlab,pagerduty,mlflow}`."""

    async def receive(provider: str, request: Request) -> dict[str, Any]:
        secret = state.webhook_secrets.get(provider)
        if not secret:
            raise HTTPException(404, f"the {provider} webhook is not configured on this server")
        from northstar.server.app import read_body

        body = await read_body(request, state.max_body)
        if not _verify(provider, secret, request, body):
            client = request.client.host if request.client else "?"
            log.warning("rejected a %s webhook from %s: bad signature", provider, client)
            raise HTTPException(401, f"bad {provider} signature")
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise HTTPException(400, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise HTTPException(400, "the body is not a JSON object")
        if provider == "github":
            event = request.headers.get("x-github-event", "")
            records = from_github(event, payload)
        elif provider == "gitlab":
            event = request.headers.get("x-gitlab-event", "")
            records = from_gitlab(event, payload)
        elif provider == "pagerduty":
            event = str((payload.get("event") or {}).get("event_type"))
            records = from_pagerduty(payload)
        else:
            event = f"{payload.get('entity')}.{payload.get('action')}"
            records = from_mlflow(payload)
        if not records:
            return {"event": event, "stored": {}, "ignored": True}
        stored = await run_in_threadpool(_store, state, records)
        return {"event": event, "stored": stored, "ignored": False}

    responses: dict[int | str, dict[str, Any]] = {
        401: {"description": "Bad signature (logged)."},
        404: {"description": "No secret for this provider on this server."},
        422: {"description": "The event's records are invalid; nothing stored."},
    }
    for provider in ("github", "gitlab", "pagerduty", "mlflow"):
        app.add_api_route(
            f"/webhooks/{provider}",
            _endpoint(receive, provider),
            methods=["POST"],
            tags=["webhooks"],
            responses=responses,
            summary=f"Receive {provider} events (signature-checked, no token)",
        )


def _endpoint(receive: Callable[[str, Request], Any], provider: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Any:
        return await receive(provider, request)

    endpoint.__name__ = f"webhook_{provider}"
    return endpoint
