"""Pseudonymisation at ingestion (`privacy.pseudonymize`): people's ids become keyed hashes.

`p_` + hex HMAC-SHA256(key, id), computed in SQL over whole columns (the HMAC construction of RFC 2104 on
DuckDB's sha256), equal to `pseudonym(key, id)` in Python. The same key maps an id to the same pseudonym in
every table, so joins (activity.actor → people.id) still work.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["PSEUDONYMIZED", "hmac_sql", "pseudonym"]

PSEUDONYMIZED: dict[str, tuple[str, ...]] = {
    "activity": ("actor",),
    "support_messages": ("author",),
    "survey_responses": ("respondent",),
    "people": ("id",),
}
"""The fields that name a person, by record kind."""

_BLOCK = 64  # SHA-256 block size in bytes


def pseudonym(key: bytes, value: str) -> str:
    """The pseudonym of one id (reference implementation)."""
    return "p_" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_sql(key: bytes, expr: str) -> str:
    """SQL computing `pseudonym(key, expr)` for a VARCHAR expression (NULL stays NULL)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_BLOCK, b"\0")
    ipad = bytes(b ^ 0x36 for b in padded).hex()
    opad = bytes(b ^ 0x5C for b in padded).hex()
    inner = f"unhex(sha256(unhex('{ipad}') || encode({expr})))"
    return f"('p_' || sha256(unhex('{opad}') || {inner}))"
