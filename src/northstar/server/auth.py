"""Bearer tokens for the API: scopes `ingest`, `read`, `admin`; only the sha256 of a token is stored.

A token is `ns_<id>_<secret>`: the id names it in `northstar token list|revoke`, the secret is 32 random
bytes. The table `api_tokens` lives in the store; it is created here with `IF NOT EXISTS` (it is the
server's own table, not part of the record schema, so it needs no migration of `store.MIGRATIONS`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "SCOPES",
    "TokenError",
    "TokenInfo",
    "create_token",
    "ensure_token_table",
    "list_tokens",
    "revoke_token",
    "verify_token",
]

SCOPES = ("ingest", "read", "admin")
"""`admin` implies the others."""

_DDL = (
    "CREATE TABLE IF NOT EXISTS api_tokens (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, "
    "sha256 VARCHAR NOT NULL UNIQUE, scopes VARCHAR[] NOT NULL, created_at TIMESTAMP NOT NULL, "
    "revoked_at TIMESTAMP)"
)


class TokenError(ValueError):
    """A token command that cannot be done (unknown scope, unknown id, …)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_token_table(con: Any) -> None:
    """Create the token table when the store has none (a no-op afterwards)."""
    con.execute(_DDL)


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    bad = [s for s in out if s not in SCOPES]
    if bad or not out:
        raise TokenError(f"unknown scope {', '.join(bad) or '(none)'}; use one or more of {', '.join(SCOPES)}")
    return out


def create_token(con: Any, name: str, scopes: Sequence[str]) -> tuple[str, TokenInfo]:
    """Create a token; returns the secret token (shown once) and its listing."""
    ensure_token_table(con)
    checked = _check_scopes(scopes)
    token_id = secrets.token_hex(4)
    token = f"ns_{token_id}_{secrets.token_urlsafe(32)}"
    now = _now()
    con.execute(
        "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, NULL)", [token_id, name, _digest(token), list(checked), now]
    )
    return token, TokenInfo(token_id, name, checked, now, None)


def list_tokens(con: Any) -> list[TokenInfo]:
    """Every token, active or revoked, oldest first."""
    ensure_token_table(con)
    rows = con.execute(
        "SELECT id, name, scopes, created_at, revoked_at FROM api_tokens ORDER BY created_at, id"
    ).fetchall()
    return [TokenInfo(r[0], r[1], tuple(r[2]), r[3], r[4]) for r in rows]


def revoke_token(con: Any, token_id: str) -> TokenInfo:
    """Revoke a token by id (idempotent); TokenError for an unknown id."""
    ensure_token_table(con)
    con.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [_now(), token_id])
    for info in list_tokens(con):
        if info.id == token_id:
            return info
    raise TokenError(f"no token with id {token_id!r}; `northstar token list` shows them")


def verify_token(con: Any, token: str) -> tuple[str, ...] | None:
    """The scopes of an active token, or None for an unknown or revoked one (admin implies every scope)."""
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != "ns":
        return None
    row = con.execute(
        "SELECT sha256, scopes FROM api_tokens WHERE id = ? AND revoked_at IS NULL", [parts[1]]
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), _digest(token)):
        return None
    scopes = tuple(row[1])
    return SCOPES if "admin" in scopes else scopes
