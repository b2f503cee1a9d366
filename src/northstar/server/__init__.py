"""`northstar serve`: the HTTP API (ingest, read, tokens, Prometheus, webhooks) around one store."""

from __future__ import annotations

from northstar.server.app import create_app
from northstar.server.state import DEFAULT_MAX_BODY, ServerState

__all__ = ["DEFAULT_MAX_BODY", "ServerState", "create_app"]
