"""Prometheus (HTTP API `query_range`) → `service_samples`: requests, errors, latency histogram, CPU and memory.

Each sample is one step (`interval_s` = the step) of one service, the service being the value of
`service_label` in the query results. The PromQL of each signal is configurable; `$label` and `$step` in it
are replaced by the service label and the step (`60s`). The defaults suit servers instrumented with the
usual HTTP metrics (`http_requests_total` with a `code` or `status` label, `http_request_duration_seconds`
histogram, `process_cpu_seconds_total`, `process_resident_memory_bytes`). Each sync reads from the end of the
last one (or `backfill` ago) up to now minus `lag`, so the last scrapes are in.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from string import Template
from typing import Any

import httpx
from pydantic import Field, field_validator

from northstar.config import parse_duration
from northstar.connectors import BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader

__all__ = ["DEFAULT_QUERIES", "PrometheusConfig", "PrometheusConnector"]

DEFAULT_QUERIES: dict[str, str | None] = {
    "requests": "sum by ($label) (increase(http_requests_total[$step]))",
    "errors": (
        'sum by ($label) (increase(http_requests_total{code=~"5.."}[$step]) '
        'or increase(http_requests_total{status=~"5.."}[$step]))'
    ),
    "latency_buckets": "sum by ($label, le) (increase(http_request_duration_seconds_bucket[$step]))",
    "cpu_util": "clamp_max(sum by ($label) (rate(process_cpu_seconds_total[$step])), 1)",
    "memory_util": None,
}
"""PromQL per signal; `memory_util` has no portable default (it needs a limit), so it is off unless given."""

_MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series


class PrometheusConfig(ConnectorConfig):
    """`connectors.NAME` for a Prometheus server."""

    url: str = Field(description="The Prometheus server, e.g. http://prometheus:9090.")
    token: str | None = None
    username: str | None = None
    password: str | None = None
    service_label: str = "job"
    """The label whose value is the service."""
    services: dict[str, str] = Field(default_factory=dict)
    """Label value → service id; with `only_mapped: true`, other values are ignored."""
    only_mapped: bool = False
    step: str = "60s"
    backfill: str = "7d"
    """How far back the first sync reads."""
    lag: str = "1m"
    queries: dict[str, str | None] = Field(default_factory=dict)
    """Overrides of DEFAULT_QUERIES (requests, errors, latency_buckets, cpu_util, memory_util); null turns one off."""
    timeout: float = Field(default=60.0, gt=0)

    @field_validator("step", "backfill", "lag")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("queries")
    @classmethod
    def _known(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for k in value:
            if k not in DEFAULT_QUERIES:
                raise ValueError(f"unknown signal {k!r} (signals: {', '.join(DEFAULT_QUERIES)})")
        return value


def _seconds(text: str) -> int:
    return max(1, round(parse_duration(text).total_seconds()))


class PrometheusConnector(BaseConnector):
    """Service samples from `query_range`."""

    type = "prometheus"
    Config = PrometheusConfig
    config: PrometheusConfig

    def _query(self, client: httpx.Client, promql: str, start: int, end: int, step: int) -> list[dict[str, Any]]:
        url = self.config.url.rstrip("/")
        params = {"query": promql, "start": str(start), "end": str(end), "step": f"{step}s"}
        try:
            resp = client.get(f"{url}/api/v1/query_range", params=params)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"cannot reach Prometheus at {url}: {exc}") from None
        if resp.status_code in (401, 403):
            raise ConnectorError(
                f"Prometheus at {url} refused the credentials (HTTP {resp.status_code}); "
                f"set connectors.{self.name}.token (or username/password)"
            )
        try:
            body = resp.json()
        except ValueError:
            raise ConnectorError(
                f"{url}/api/v1/query_range: HTTP {resp.status_code}, not JSON (is it Prometheus?)"
            ) from None
        if body.get("status") != "success":
            raise ConnectorError(f"Prometheus rejected the query {promql!r}: {body.get('error', resp.status_code)}")
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise ConnectorError(f"the query {promql!r} does not return a range vector")
        result: list[dict[str, Any]] = data.get("result") or []
        return result

    def read(self, cursor: Cursor | None) -> Reader:
        """Samples of every complete step since the last sync."""
        cfg = self.config
        step = _seconds(cfg.step)
        end = (int(time.time()) - _seconds(cfg.lag)) // step * step
        start = int((cursor or {}).get("end", 0)) + step if cursor else (end - _seconds(cfg.backfill)) // step * step
        if start > end:
            return cursor
        queries = {**DEFAULT_QUERIES, **cfg.queries}
        if not queries.get("requests") or not queries.get("errors"):
            raise ConnectorError(f"connectors.{self.name}.queries: requests and errors are required")
        headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
        auth = httpx.BasicAuth(cfg.username, cfg.password or "") if cfg.username else None
        with httpx.Client(headers=headers, auth=auth, timeout=cfg.timeout) as client:
            chunk_start = start
            while chunk_start <= end:
                chunk_end = min(end, chunk_start + step * (_MAX_POINTS - 1))
                signals = {
                    name: self._query(client, Template(q).safe_substitute(label=cfg.service_label, step=f"{step}s"),
                                      chunk_start, chunk_end, step)
                    for name, q in queries.items()
                    if q
                }  # fmt: skip
                yield Batch("service_samples", self._samples(signals, step))
                chunk_start = chunk_end + step
        return {"end": end}

    def _service(self, labels: dict[str, str]) -> str | None:
        value = labels.get(self.config.service_label)
        if value is None:
            return None
        if value in self.config.services:
            return self.config.services[value]
        return None if self.config.only_mapped else value

    def _samples(self, signals: dict[str, list[dict[str, Any]]], step: int) -> list[dict[str, Any]]:
        cells: dict[tuple[str, int], dict[str, Any]] = {}
        for name, series in signals.items():
            for s in series:
                labels = s.get("metric") or {}
                service = self._service(labels)
                if service is None:
                    continue
                for t, text in s.get("values") or []:
                    value = float(text)
                    if math.isnan(value):
                        continue
                    cell = cells.setdefault((service, int(float(t))), {})
                    if name == "latency_buckets":
                        le = labels.get("le")
                        if le is not None:
                            cell.setdefault("buckets", {})[le] = cell.get("buckets", {}).get(le, 0.0) + value
                    else:
                        cell[name] = cell.get(name, 0.0) + value
        rows = []
        for (service, t), cell in sorted(cells.items()):
            if "requests" not in cell:
                continue
            requests = max(cell["requests"], 0.0)
            start = datetime.fromtimestamp(t - step, UTC)
            rows.append(
                {
                    "id": f"{service}@{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/{step}s",
                    "service": service,
                    "ts": start.isoformat(),
                    "interval_s": step,
                    "requests": requests,
                    # increase() extrapolates each series on its own: keep errors within requests
                    "errors": min(max(cell.get("errors", 0.0), 0.0), requests),
                    "latency_buckets": _cumulative(cell.get("buckets")),
                    "cpu_util": _ratio(cell.get("cpu_util")),
                    "memory_util": _ratio(cell.get("memory_util")),
                }
            )
        return rows


def _ratio(value: float | None) -> float | None:
    return None if value is None else min(max(value, 0.0), 1.0)


def _cumulative(buckets: dict[str, float] | None) -> dict[str, float] | None:
    """Buckets by upper bound, made non-decreasing (extrapolated increases can differ in the last digits)."""
    if not buckets:
        return None
    ordered = sorted(buckets.items(), key=lambda kv: math.inf if kv[0] in ("+Inf", "Inf", "inf") else float(kv[0]))
    out: dict[str, float] = {}
    running = 0.0
    for le, count in ordered:
        running = max(running, count)
        out[le] = running
    return out
