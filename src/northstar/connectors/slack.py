"""Slack export (the zip Slack's export tool writes, or its unpacked folder) → `support_messages`.

An export has `users.json`, `channels.json` (public), `groups.json` (private, when exported) and one folder
per channel with a `YYYY-MM-DD.json` file per day, each a list of messages. A thread's replies are filed under
the day they were written, so threads are rebuilt from `thread_ts`, not from files. Bots are users with
`is_bot` in `users.json`, messages with a `bot_id` or the `bot_message` subtype; deleted messages
(tombstones) and channel joins, leaves, topic and purpose changes are skipped. Authors become people ids
when a person's id is the user's email, its local part or the Slack user name; platform owners are then
those people with role `platform_owner` (the support metrics read the roles from `people`).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from northstar.connectors import BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader

__all__ = ["SlackConfig", "SlackConnector"]

_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
_SKIP_SUBTYPES = {"tombstone", "message_deleted", "message_changed", "joiner_notification_for_inviter"}


class SlackConfig(ConnectorConfig):
    """`connectors.NAME` for a Slack export."""

    path: str = Field(description="The export's .zip or its unpacked folder (relative to northstar.yaml).")
    channels: list[str] = Field(min_length=1)
    """Support channels, by name (without `#`)."""
    bots: list[str] = Field(default_factory=list)
    """Extra user ids or names to treat as bots (e.g. a workflow user)."""


class _Export:
    """Read access to an export, zipped or not."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise ConnectorError(f"{path}: not a zip file (give the export's .zip or its folder)") from None
            names = self.zip.namelist()
            if "users.json" not in names:  # a zip of the folder: everything under one top folder
                top = next((n[: -len("users.json")] for n in names if n.endswith("/users.json")), "")
                self.prefix = top
        elif not path.is_dir():
            raise ConnectorError(f"Slack export not found: {path}")

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def names(self) -> list[str]:
        if self.zip is not None:
            return [n[len(self.prefix) :] for n in self.zip.namelist() if n.startswith(self.prefix)]
        return [str(p.relative_to(self.path)).replace("\\", "/") for p in self.path.rglob("*.json")]

    def load(self, name: str, required: bool = True) -> Any:
        where = f"{self.path}/{name}" if self.zip is None else f"{self.path}:{self.prefix}{name}"
        try:
            raw = self.zip.read(self.prefix + name) if self.zip is not None else (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            if required:
                raise ConnectorError(f"{where}: missing; is this a Slack export?") from None
            return None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConnectorError(f"{where}: not valid JSON ({exc})") from None


def _ts(value: str) -> str:
    return datetime.fromtimestamp(float(value), UTC).isoformat()


class SlackConnector(BaseConnector):
    """Support messages of the configured channels."""

    type = "slack"
    Config = SlackConfig
    config: SlackConfig

    def read(self, cursor: Cursor | None) -> Reader:
        """Messages newer than the last one seen in each channel; the cursor is the last `ts` per channel."""
        last: dict[str, str] = dict((cursor or {}).get("channels", {}))
        export = _Export(self.context.resolve(self.config.path))
        try:
            users = self._users(export)
            names = export.names()
            known = {n.split("/")[0] for n in names if "/" in n}
            for channel in self.config.channels:
                if channel not in known:
                    raise ConnectorError(
                        f"channel {channel!r} is not in the export {export.path} "
                        f"(channels: {', '.join(sorted(known)) or 'none'})"
                    )
                rows, newest = self._channel(export, names, channel, users, last.get(channel))
                if newest is not None:
                    last[channel] = newest
                yield Batch("support_messages", rows)
        finally:
            export.close()
        return {"channels": last}

    def _users(self, export: _Export) -> dict[str, dict[str, Any]]:
        data = export.load("users.json")
        if not isinstance(data, list):
            raise ConnectorError(f"{export.path}: users.json is not a list of users")
        extra = set(self.config.bots)
        out: dict[str, dict[str, Any]] = {}
        for u in data:
            if not isinstance(u, dict) or "id" not in u:
                continue
            profile = u.get("profile") or {}
            email = profile.get("email")
            name = u.get("name")
            person = self.context.person(email, email.split("@")[0] if email else None, name, u["id"])
            out[u["id"]] = {
                "author": person or email or name or u["id"],
                "bot": bool(u.get("is_bot")) or u["id"] == "USLACKBOT" or u["id"] in extra or name in extra,
            }
        return out

    def _days(self, names: list[str], channel: str, since: str | None) -> Iterator[str]:
        first = datetime.fromtimestamp(float(since), UTC).date().isoformat() if since else ""
        for name in sorted(names):
            folder, _, file = name.partition("/")
            m = _DAY.match(file)
            if folder == channel and m and m.group(1) >= first:
                yield name

    def _channel(
        self, export: _Export, names: list[str], channel: str, users: dict[str, dict[str, Any]], since: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        rows: list[dict[str, Any]] = []
        newest = since
        for name in self._days(names, channel, since):
            messages = export.load(name)
            if not isinstance(messages, list):
                raise ConnectorError(f"{export.path}/{name}: expected a list of messages")
            for i, msg in enumerate(messages):
                if not isinstance(msg, dict) or not isinstance(msg.get("ts"), str):
                    raise ConnectorError(f"{export.path}/{name}: message {i} has no ts")
                ts = msg["ts"]
                if since is not None and float(ts) <= float(since):
                    continue
                if newest is None or float(ts) > float(newest):
                    newest = ts
                row = self._message(channel, msg, users)
                if row is not None:
                    rows.append(row)
        return rows, newest

    def _message(self, channel: str, msg: dict[str, Any], users: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        subtype = msg.get("subtype")
        if msg.get("type", "message") != "message" or subtype in _SKIP_SUBTYPES:
            return None
        if isinstance(subtype, str) and subtype.startswith(("channel_", "group_")):
            return None
        user = users.get(str(msg.get("user")), {})
        is_bot = bool(msg.get("bot_id")) or subtype == "bot_message" or bool(user.get("bot"))
        author = user.get("author") or msg.get("user") or msg.get("username") or msg.get("bot_id") or "unknown"
        ts, thread_ts = msg["ts"], msg.get("thread_ts")
        row_id = f"{channel}/{ts}"
        return {
            "id": row_id,
            "ts": _ts(ts),
            "channel": channel,
            "author": str(author),
            "thread_id": f"{channel}/{thread_ts}" if thread_ts else None,
            "is_bot": is_bot,
        }
