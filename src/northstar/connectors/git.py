"""git repositories: commits on the deploy branch → `changes`; release tags or merges → `deployments`.

Reads a local repository (a clone the user already has; `git fetch` is theirs to run) with the `git` command.
Each release tag matching `tag_pattern` deploys the commits since the previous matching tag; with
`deploy_from: merges`, each merge commit on the deploy branch deploys the commits it brings in. The author
email becomes the change's team through `people` (a person whose id is the email, its local part, or the id
given in `authors:`).
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from typing import Any, Literal

from pydantic import Field

from northstar.connectors import BaseConnector, Batch, ConnectorConfig, ConnectorError, Cursor, Reader

__all__ = ["GitConfig", "GitConnector"]

_US, _RS = "\x1f", "\x1e"


class GitConfig(ConnectorConfig):
    """`connectors.NAME` for a git repository."""

    path: str = Field(description="The repository's folder (relative to northstar.yaml).")
    service: str | None = None
    """The service the changes and deployments belong to (default: the folder's name)."""
    team: str | None = None
    """The team owning the service (default: each author's team from `people`)."""
    branch: str | None = None
    """The deploy branch (default: the branch checked out)."""
    deploy_from: Literal["tags", "merges", "none"] = "tags"
    tag_pattern: str = "v*"
    """Release tags, as a shell pattern (`v*`, `release-*`)."""
    environment: str = "production"
    authors: dict[str, str] = Field(default_factory=dict)
    """Author email → person id, for emails that are not people ids themselves."""


class GitConnector(BaseConnector):
    """Commits and deployments of one repository."""

    type = "git"
    Config = GitConfig
    config: GitConfig

    def _git(self, *args: str) -> str:
        repo = self.context.resolve(self.config.path)
        if shutil.which("git") is None:
            raise ConnectorError("the `git` command is not installed")
        if not repo.is_dir():
            raise ConnectorError(f"repository not found: {repo} (clone it, or fix connectors.{self.name}.path)")
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, encoding="utf-8", errors="replace"
        )
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            raise ConnectorError(f"git {args[0]} in {repo}: {reason}")
        return proc.stdout

    @property
    def service(self) -> str:
        return self.config.service or self.context.resolve(self.config.path).resolve().name

    def _branch(self) -> str:
        if self.config.branch:
            return self.config.branch
        return self._git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def _team(self, email: str) -> str | None:
        if self.config.team:
            return self.config.team
        mapped = self.config.authors.get(email) or self.config.authors.get(email.lower())
        person = self.context.person(mapped, email, email.split("@")[0])
        return self.context.team_of(person)

    def _is_ancestor(self, old: str, new: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", old, new)
        except ConnectorError:
            return False
        return True

    def read(self, cursor: Cursor | None) -> Reader:
        """New commits on the deploy branch, then new deployments; the cursor is the head and the last deploy."""
        cursor = cursor or {}
        branch = self._branch()
        head = self._git("rev-parse", "--verify", f"{branch}^{{commit}}").strip()
        last = cursor.get("head")
        rng = f"{last}..{head}" if last and self._is_ancestor(last, head) else head
        log = self._git("log", rng, f"--format=%H{_US}%ae{_US}%aI{_RS}")
        changes = []
        for rec in log.split(_RS):
            parts = rec.strip().split(_US)
            if len(parts) != 3:
                continue
            sha, email, when = parts
            changes.append(
                {"id": sha, "service": self.service, "team": self._team(email), "kind": "code", "created_at": when}
            )
        yield Batch("changes", changes)
        deploys, mark = self._deployments(branch, cursor.get("deployed"))
        yield Batch("deployments", deploys)
        return {"head": head, "deployed": mark}

    def _deployments(self, branch: str, seen: str | None) -> tuple[list[dict[str, Any]], str | None]:
        if self.config.deploy_from == "none":
            return [], seen
        points = self._tags() if self.config.deploy_from == "tags" else self._merges(branch)
        names = [p[0] for p in points]
        start = names.index(seen) + 1 if seen in names else 0
        rows = []
        for i in range(start, len(points)):
            name, commit, when = points[i]
            prev = points[i - 1][1] if i > 0 else None
            if self.config.deploy_from == "merges":
                first_parent = self._git("rev-parse", f"{commit}^1").strip()
                prev = first_parent
            rng = [f"{prev}..{commit}"] if prev else [commit]
            ids = self._git("rev-list", *rng).split()
            rows.append(
                {
                    "id": f"{self.service}@{name}",
                    "service": self.service,
                    "team": self.config.team,
                    "environment": self.config.environment,
                    "status": "succeeded",
                    "finished_at": when,
                    "change_ids": ids,
                }
            )
        return rows, (names[-1] if names else seen)

    def _tags(self) -> list[tuple[str, str, str]]:
        """(tag, commit, date) of matching tags, oldest first (tagger date, or commit date for a light tag)."""
        out = self._git(
            "for-each-ref",
            "refs/tags",
            "--sort=creatordate",
            f"--format=%(refname:short){_US}%(objectname){_US}%(*objectname){_US}%(creatordate:iso-strict)",
        )
        tags = []
        for line in out.splitlines():
            name, obj, peeled, when = line.split(_US)
            if fnmatch.fnmatchcase(name, self.config.tag_pattern):
                tags.append((name, peeled or obj, when))
        return tags

    def _merges(self, branch: str) -> list[tuple[str, str, str]]:
        """(short sha, sha, committer date) of merge commits on the deploy branch, oldest first."""
        out = self._git("log", "--first-parent", "--merges", "--reverse", branch, f"--format=%H{_US}%cI")
        return [(sha[:12], sha, when) for sha, when in (line.split(_US) for line in out.splitlines() if line)]
