"""Slack connector on an export laid out like Slack's: users.json, channels.json, CHANNEL/YYYY-MM-DD.json."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.conftest import inserted, rows, sync, write_config


def ts(iso: str, micro: int = 0) -> str:
    return f"{int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp())}.{micro:06d}"


ROOT = ts("2026-03-02T23:50:00")
USERS = [
    {"id": "U01", "name": "ada", "is_bot": False, "profile": {"email": "ada@example.com", "real_name": "Ada"}},
    {"id": "U02", "name": "olga", "is_bot": False, "profile": {"email": "olga@corp.example", "real_name": "Olga"}},
    {"id": "U03", "name": "helpbot", "is_bot": True, "profile": {"bot_id": "B01"}},
    {"id": "USLACKBOT", "name": "slackbot", "is_bot": False, "profile": {}},
]


def msg(user: str, when: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": extra.pop("at", ts(when)), **extra}


def write_export(root: Path, days: dict[str, list[dict[str, Any]]], channel: str = "ml-platform-help") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "users.json").write_text(json.dumps(USERS))
    (root / "channels.json").write_text(json.dumps([{"id": "C01", "name": channel}, {"id": "C02", "name": "random"}]))
    for folder in (channel, "random"):
        (root / folder).mkdir(exist_ok=True)
    (root / "random" / "2026-03-02.json").write_text(json.dumps([msg("U01", "2026-03-02T10:00:00")]))
    for day, messages in days.items():
        (root / channel / f"{day}.json").write_text(json.dumps(messages, indent=1))
    return root


DAYS = {
    "2026-03-02": [
        msg("U01", "2026-03-02T09:00:00", subtype="channel_join", text="<@U01> has joined the channel"),
        msg("U01", "2026-03-02T23:50:00", "how do I deploy?", at=ROOT, thread_ts=ROOT, reply_count=2),
        msg(
            "USLACKBOT",
            "2026-03-02T23:55:00",
            "This message was deleted.",
            subtype="tombstone",
            thread_ts=ts("2026-03-02T23:55:00"),
        ),
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B09",
            "username": "ci",
            "text": "build ok",
            "ts": ts("2026-03-02T23:56:00"),
        },
    ],
    "2026-03-03": [  # replies are filed under the day they were written
        msg("U02", "2026-03-03T00:10:00", "use the golden path", thread_ts=ROOT, parent_user_id="U01"),
        msg("U03", "2026-03-03T00:11:00", "see the docs", thread_ts=ROOT, bot_id="B01"),
    ],
}


@pytest.mark.parametrize("zipped", [False, True])
def test_export_to_support_messages(zipped: bool, people_db: Path, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", DAYS)
    path = folder
    if zipped:
        path = tmp_path / "Acme Slack export Mar 1 2026 - Mar 3 2026.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(folder.rglob("*.json")):
                zf.write(f, f.relative_to(folder).as_posix())
    config = write_config(tmp_path, {"support": {"type": "slack", "path": str(path), "channels": ["ml-platform-help"]}})
    code, data, err = sync(config, people_db)
    assert code == 0, err
    assert inserted(data, "support") == {"support_messages": 4}
    root_id = f"ml-platform-help/{ROOT}"
    got = rows(people_db, "SELECT ts::VARCHAR, channel, author, thread_id, is_bot FROM support_messages ORDER BY ts")
    assert got == [
        ("2026-03-02 23:50:00", "ml-platform-help", "ada@example.com", root_id, False),  # people id by email
        ("2026-03-02 23:56:00", "ml-platform-help", "ci", None, True),  # bot_message subtype
        ("2026-03-03 00:10:00", "ml-platform-help", "olga", root_id, False),  # people id by email local part
        ("2026-03-03 00:11:00", "ml-platform-help", "helpbot", root_id, True),  # is_bot in users.json
    ]
    code, data, _ = sync(config, people_db)
    assert code == 0 and inserted(data, "support") == {}


def test_later_export_adds_only_new_messages(people_db: Path, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", DAYS)
    config = write_config(tmp_path, {"slack": {"path": "export", "channels": ["ml-platform-help"]}})
    assert sync(config, people_db)[0] == 0
    later = {**DAYS, "2026-03-05": [msg("U01", "2026-03-05T08:00:00", "thanks!", thread_ts=ROOT)]}
    write_export(folder, later)
    code, data, _ = sync(config, people_db)
    assert code == 0 and inserted(data, "slack") == {"support_messages": 1}
    assert rows(people_db, "SELECT count(*) FROM support_messages") == [(5,)]


def test_malformed_or_missing_export_is_a_clear_error(people_db: Path, tmp_path: Path) -> None:
    folder = write_export(tmp_path / "export", DAYS)
    config = write_config(tmp_path, {"slack": {"path": "export", "channels": ["ml-platform-help"]}})
    assert sync(config, people_db)[0] == 0
    (folder / "ml-platform-help" / "2026-03-06.json").write_text("[{")
    code, _, err = sync(config, people_db)
    assert code == 1 and "slack:" in err and "2026-03-06.json: not valid JSON" in err
    config = write_config(tmp_path, {"slack": {"path": "export", "channels": ["ml-help"]}})
    code, _, err = sync(config, people_db)
    assert code == 1 and "channel 'ml-help' is not in the export" in err
    config = write_config(tmp_path, {"slack": {"path": "gone.zip", "channels": ["ml-help"]}})
    code, _, err = sync(config, people_db)
    assert code == 1 and "Slack export not found" in err
    assert rows(people_db, "SELECT count(*) FROM support_messages") == [(4,)]
