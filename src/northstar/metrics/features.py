"""features metrics (DESIGN.md §3)."""

from __future__ import annotations
