"""MLflow tracking server (REST API over httpx; the mlflow package is not needed) → activity, changes, deployments.

- runs → `activity` (component = the tracking component, actor = the run's user, action `run`, at start_time);
- registered model versions → `changes` (kind `model`, created_at = the version's creation) and `activity`
  (action `register`, on the registry component);
- promotions: MLflow keeps no history of alias or stage changes, so each sync snapshots the aliases and stages
  of every registered model and records what changed since the last snapshot as production `deployments` of
  the version (model_ready_at = the version's creation). Aliases and stages that mean production are
  configurable.

Every search endpoint is paged through with `page_token`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field

from northstar.connectors import BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader

__all__ = ["MlflowConfig", "MlflowConnector"]


class MlflowConfig(ConnectorConfig):
    """`connectors.NAME` for an MLflow tracking server."""

    url: str = Field(description="The tracking server, e.g. http://mlflow.internal:5000.")
    token: str | None = None
    """Bearer token for managed servers (use `${MLFLOW_TRACKING_TOKEN}`)."""
    username: str | None = None
    password: str | None = None
    """Basic auth (MLflow's `basic-auth` app)."""
    component: str = "mlflow"
    """The tracking component's id in the inventory."""
    registry_component: str | None = None
    """The model registry's component id (default: `component`)."""
    run_action: str = "run"
    register_action: str = "register"
    production_aliases: list[str] = Field(default_factory=lambda: ["champion", "production", "prod"])
    production_stages: list[str] = Field(default_factory=lambda: ["Production"])
    services: dict[str, str] = Field(default_factory=dict)
    """Registered model name → service id (default: the model name)."""
    experiments: list[str] = Field(default_factory=list)
    """Only these experiments, by name (default: all active ones)."""
    models: list[str] = Field(default_factory=list)
    """Only these registered models (default: all)."""
    page_size: int = Field(default=500, ge=1, le=10000)
    timeout: float = Field(default=30.0, gt=0)


def _iso(ms: Any) -> str | None:
    return None if ms in (None, "") else datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat()


class MlflowConnector(BaseConnector):
    """Runs, model versions and promotions from one tracking server."""

    type = "mlflow"
    Config = MlflowConfig
    config: MlflowConfig

    # -- HTTP ----------------------------------------------------------------------------------------------
    def _client(self) -> httpx.Client:
        cfg = self.config
        headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
        auth = httpx.BasicAuth(cfg.username, cfg.password or "") if cfg.username else None
        return httpx.Client(base_url=cfg.url.rstrip("/"), headers=headers, auth=auth, timeout=cfg.timeout)

    def _call(self, client: httpx.Client, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.config.url.rstrip('/')}{path}"
        try:
            resp = client.get(path, params=body) if method == "GET" else client.post(path, json=body)
        except httpx.TimeoutException:
            raise ConnectorError(
                f"the MLflow server at {self.config.url} did not answer in {self.config.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(f"cannot reach the MLflow server at {self.config.url}: {exc}") from None
        if resp.status_code in (401, 403):
            raise ConnectorError(
                f"the MLflow server at {self.config.url} refused the credentials (HTTP {resp.status_code}); "
                f"set connectors.{self.name}.token (or username/password)"
            )
        if resp.status_code >= 400:
            raise ConnectorError(f"{method} {url}: HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            data = resp.json()
        except ValueError:
            raise ConnectorError(
                f"{method} {url}: the answer is not JSON (is {self.config.url} an MLflow server?)"
            ) from None
        if not isinstance(data, dict):
            raise ConnectorError(f"{method} {url}: expected a JSON object")
        return data

    def _pages(
        self, client: httpx.Client, method: str, path: str, body: dict[str, Any], key: str
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._call(client, method, path, {**body, **({"page_token": token} if token else {})})
            items = page.get(key, [])
            if not isinstance(items, list):
                raise ConnectorError(f"{path}: {key} is not a list")
            yield from items
            token = page.get("next_page_token")
            if not token:
                return

    # -- reading -------------------------------------------------------------------------------------------
    def read(self, cursor: Cursor | None) -> Reader:
        """New runs and model versions, and the promotions since the last snapshot."""
        cursor = cursor or {}
        now_ms = int(time.time() * 1000)
        with self._client() as client:
            runs, runs_since = self._runs(client, int(cursor.get("runs_since", 0)))
            yield Batch("activity", runs)
            versions = list(self._versions(client))
            models = {
                m["name"]: m
                for m in self._pages(
                    client,
                    "GET",
                    "/api/2.0/mlflow/registered-models/search",
                    {"max_results": min(self.config.page_size, 1000)},
                    "registered_models",
                )
            }
        if self.config.models:
            wanted = set(self.config.models)
            versions = [v for v in versions if v.get("name") in wanted]
            models = {k: m for k, m in models.items() if k in wanted}
        since_v = int(cursor.get("versions_since", 0))
        new = [v for v in versions if int(v.get("creation_timestamp") or 0) >= since_v]
        yield Batch("changes", [self._change(v) for v in new])
        yield Batch("activity", [self._registered(v) for v in new if v.get("user_id")])
        snapshot = self._snapshot(versions, models)
        yield Batch(
            "deployments", self._promotions(cursor.get("snapshot", {}), snapshot, versions, models, cursor, now_ms)
        )
        last_v = max([since_v, *(int(v.get("creation_timestamp") or 0) for v in versions)])
        return {"runs_since": runs_since, "versions_since": last_v, "snapshot": snapshot, "synced_at": now_ms}

    def _person(self, user: str | None) -> str | None:
        if not user:
            return None
        return self.context.person(user, user.split("@")[0]) or user

    def _runs(self, client: httpx.Client, since: int) -> tuple[list[dict[str, Any]], int]:
        exps = list(
            self._pages(
                client,
                "POST",
                "/api/2.0/mlflow/experiments/search",
                {"max_results": min(self.config.page_size, 1000)},
                "experiments",
            )
        )
        if self.config.experiments:
            wanted = set(self.config.experiments)
            exps = [e for e in exps if e.get("name") in wanted]
        names = {e["experiment_id"]: e.get("name") for e in exps}
        rows: list[dict[str, Any]] = []
        newest = since
        ids = list(names)
        for start in range(0, len(ids), 50):
            body = {
                "experiment_ids": ids[start : start + 50],
                "filter": f"attributes.start_time >= {since}",
                "order_by": ["attributes.start_time ASC"],
                "max_results": self.config.page_size,
            }
            for run in self._pages(client, "POST", "/api/2.0/mlflow/runs/search", body, "runs"):
                info = run.get("info") or {}
                tags = {t.get("key"): t.get("value") for t in (run.get("data") or {}).get("tags", [])}
                user = info.get("user_id") or tags.get("mlflow.user")
                start_ms = info.get("start_time")
                if start_ms is None or not info.get("run_id"):
                    continue
                newest = max(newest, int(start_ms))
                rows.append(
                    {
                        "id": f"mlflow-run:{info['run_id']}",
                        "ts": _iso(start_ms),
                        "actor": self._person(user) or "unknown",
                        "component": self.config.component,
                        "action": self.config.run_action,
                        "properties": {
                            "experiment": names.get(info.get("experiment_id")),
                            "status": info.get("status"),
                        },
                    }
                )
        return rows, newest

    def _versions(self, client: httpx.Client) -> Iterator[dict[str, Any]]:
        body = {"max_results": self.config.page_size}
        yield from self._pages(client, "GET", "/api/2.0/mlflow/model-versions/search", body, "model_versions")

    def _service(self, model: str) -> str:
        return self.config.services.get(model, model)

    def _change(self, v: dict[str, Any]) -> dict[str, Any]:
        person = self._person(v.get("user_id"))
        return {
            "id": f"mlflow-model:{v['name']}/{v['version']}",
            "service": self._service(v["name"]),
            "team": self.context.team_of(person),
            "kind": "model",
            "created_at": _iso(v.get("creation_timestamp")),
        }

    def _registered(self, v: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"mlflow-register:{v['name']}/{v['version']}",
            "ts": _iso(v.get("creation_timestamp")),
            "actor": self._person(v.get("user_id")),
            "component": self.config.registry_component or self.config.component,
            "action": self.config.register_action,
            "properties": {"model": v["name"], "version": str(v["version"])},
        }

    def _snapshot(self, versions: list[dict[str, Any]], models: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
        """Model → {"alias:NAME" or "stage:NAME" → version} for the production aliases and stages."""
        snap: dict[str, dict[str, str]] = {}
        aliases = set(self.config.production_aliases)
        stages = set(self.config.production_stages)
        for name, m in models.items():
            for a in m.get("aliases") or []:
                if a.get("alias") in aliases:
                    snap.setdefault(name, {})[f"alias:{a['alias']}"] = str(a["version"])
        for v in versions:
            if v.get("current_stage") in stages:
                key = f"stage:{v['current_stage']}"
                prev = snap.setdefault(v["name"], {}).get(key)
                if prev is None or int(v["version"]) > int(prev):  # several versions in Production: the newest
                    snap[v["name"]][key] = str(v["version"])
        return snap

    def _promotions(
        self,
        old: dict[str, dict[str, str]],
        new: dict[str, dict[str, str]],
        versions: list[dict[str, Any]],
        models: dict[str, dict[str, Any]],
        cursor: Cursor,
        now_ms: int,
    ) -> list[dict[str, Any]]:
        by_key = {(v["name"], str(v["version"])): v for v in versions}
        last_sync = int(cursor.get("synced_at", 0))
        rows = []
        for model, pointers in new.items():
            done: set[str] = set()
            for key, version in sorted(pointers.items()):
                if old.get(model, {}).get(key) == version or version in done:
                    continue
                done.add(version)
                v = by_key.get((model, version), {})
                # MLflow stamps a stage transition on the version and an alias change on the model; when that
                # time is not after the last sync it belongs to something else, so the sync time is used.
                stamp = max(
                    int(v.get("last_updated_timestamp") or 0),
                    int(models.get(model, {}).get("last_updated_timestamp") or 0),
                )
                finished = stamp if stamp > last_sync else now_ms
                rows.append(
                    {
                        "id": f"mlflow-deploy:{model}/{version}@{finished}",
                        "service": self._service(model),
                        "team": self.context.team_of(self._person(v.get("user_id"))),
                        "environment": "production",
                        "status": "succeeded",
                        "finished_at": _iso(finished),
                        "change_ids": [f"mlflow-model:{model}/{version}"],
                        "model_version": f"{model}/{version}",
                        "model_ready_at": _iso(v.get("creation_timestamp")),
                    }
                )
        return rows
