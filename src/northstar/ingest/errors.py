"""What ingestion reports: the result of a load, the problems of bad rows, and the errors that stop a load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["IngestError", "IngestRejected", "IngestResult", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One bad row: where it is, the first field that is wrong, why, and the row as it was written."""

    path: str
    line: int | None
    field: str
    reason: str
    raw: str | None = None
    unit: str = "line"  # "line" (text files: the physical line), "row" (Parquet, 1-based), "item" (API batch)

    @property
    def where(self) -> str:
        """`PATH:LINE`, `PATH:row N` (Parquet) or `PATH:N` (index in an API batch)."""
        if self.line is None:
            return self.path
        if self.unit == "row":
            return f"{self.path}:row {self.line}"
        return f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


class IngestError(Exception):
    """Input that cannot be loaded at all (unknown kind, missing or unreadable file): nothing was loaded."""


class IngestRejected(IngestError):
    """Bad rows under `on_error="reject"`: nothing was loaded; `problems` lists every bad row."""

    def __init__(self, kind: str, problems: Sequence[Problem]) -> None:
        self.kind = kind
        self.problems = list(problems)
        n = len(self.problems)
        files = sorted({p.path for p in self.problems})
        where = files[0] if len(files) == 1 else f"{len(files)} files"
        super().__init__(
            f"{kind}: {n:,} bad row{'s' if n != 1 else ''} in {where}; nothing was loaded "
            "(fix them, or load the good rows with --on-error quarantine)"
        )

    def details(self, limit: int = 20) -> list[str]:
        """The first `limit` problems as `PATH:LINE: field: reason`, then how many more there are."""
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"… and {len(self.problems) - limit:,} more problems")
        return lines


@dataclass
class IngestResult:
    """What one ingest call did."""

    kind: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    files: int = 0
    rows: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        """`activity: 1,234 inserted, 5 updated, 0 unchanged, 0 quarantined (2 files, 1.2 s, 1,000,000 rows/s)`."""
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 and self.rows else ""
        files = f"{self.files} file{'s' if self.files != 1 else ''}, " if self.files else ""
        return (
            f"{self.kind}: {self.inserted:,} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.quarantined:,} quarantined ({files}{self.seconds:.1f} s{rate})"
        )
