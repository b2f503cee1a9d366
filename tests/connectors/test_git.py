"""git connector on a real repository built with `git`: commits → changes, tags or merges → deployments."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.connectors.conftest import inserted, rows, sync, write_config

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str, when: str = "2026-03-02T10:00:00+00:00", email: str = "ada@example.com") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": email.split("@")[0],
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": email.split("@")[0],
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def commit(repo: Path, name: str, when: str, email: str = "ada@example.com") -> str:
    (repo / name).write_text(name)
    git(repo, "add", name, when=when, email=email)
    git(repo, "commit", "-q", "-m", f"add {name}", when=when, email=email)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "ranker"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def test_tags_deploy_the_commits_since_the_previous_tag(repo: Path, people_db: Path, tmp_path: Path) -> None:
    a = commit(repo, "a", "2026-03-02T09:00:00+01:00")
    b = commit(repo, "b", "2026-03-02T11:00:00+00:00", email="bob@example.com")
    git(repo, "tag", "-a", "v1.0", "-m", "release", when="2026-03-03T12:00:00+00:00")
    git(repo, "tag", "not-a-release", when="2026-03-03T12:30:00+00:00")
    c = commit(repo, "c", "2026-03-04T08:00:00+00:00")
    git(repo, "tag", "-a", "v1.1", "-m", "release", when="2026-03-05T12:00:00+00:00")
    config = write_config(tmp_path, {"ranker-repo": {"type": "git", "path": "ranker", "service": "ranker"}})

    code, data, err = sync(config, people_db)
    assert code == 0, err
    assert inserted(data, "ranker-repo") == {"changes": 3, "deployments": 2}
    assert rows(people_db, "SELECT id, service, team, kind, created_at::VARCHAR FROM changes ORDER BY created_at") == [
        (a, "ranker", "ranking", "code", "2026-03-02 08:00:00"),  # +01:00 → UTC; team via people (email id)
        (b, "ranker", "search", "code", "2026-03-02 11:00:00"),  # team via people (local part)
        (c, "ranker", "ranking", "code", "2026-03-04 08:00:00"),
    ]
    deploys = rows(
        people_db,
        "SELECT id, status, environment, finished_at::VARCHAR, list_sort(change_ids) FROM deployments ORDER BY id",
    )
    assert deploys == [
        ("ranker@v1.0", "succeeded", "production", "2026-03-03 12:00:00", sorted([a, b])),
        ("ranker@v1.1", "succeeded", "production", "2026-03-05 12:00:00", [c]),
    ]

    code, data, _ = sync(config, people_db)  # nothing new: nothing inserted
    assert code == 0 and inserted(data, "ranker-repo") == {}

    d = commit(repo, "d", "2026-03-06T08:00:00+00:00")
    git(repo, "tag", "-a", "v1.2", "-m", "release", when="2026-03-06T09:00:00+00:00")
    code, data, _ = sync(config, people_db)
    assert inserted(data, "ranker-repo") == {"changes": 1, "deployments": 1}
    assert rows(people_db, "SELECT change_ids FROM deployments WHERE id = 'ranker@v1.2'") == [([d],)]


def test_merges_to_the_deploy_branch_are_deployments(repo: Path, store_path: Path, tmp_path: Path) -> None:
    commit(repo, "a", "2026-03-02T09:00:00+00:00")
    git(repo, "checkout", "-q", "-b", "feature")
    f1 = commit(repo, "f1", "2026-03-02T10:00:00+00:00")
    f2 = commit(repo, "f2", "2026-03-02T11:00:00+00:00")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "feature", "-m", "merge feature", when="2026-03-02T15:00:00+00:00")
    merge = git(repo, "rev-parse", "HEAD")
    config = write_config(
        tmp_path, {"repo": {"type": "git", "path": str(repo), "deploy_from": "merges", "team": "ranking"}}
    )
    code, data, err = sync(config, store_path)
    assert code == 0, err
    assert inserted(data, "repo") == {"changes": 4, "deployments": 1}
    assert rows(store_path, "SELECT id, team, finished_at::VARCHAR, list_sort(change_ids) FROM deployments") == [
        (f"ranker@{merge[:12]}", "ranking", "2026-03-02 15:00:00", sorted([f1, f2, merge])),
    ]
    code, data, _ = sync(config, store_path)
    assert inserted(data, "repo") == {}


def test_a_missing_repository_is_a_clear_error_and_loses_nothing(repo: Path, store_path: Path, tmp_path: Path) -> None:
    commit(repo, "a", "2026-03-02T09:00:00+00:00")
    good = {"type": "git", "path": "ranker"}
    config = write_config(tmp_path, {"good": good, "gone": {"type": "git", "path": "no-such-repo"}})
    code, data, err = sync(config, store_path)
    assert code == 1
    assert "gone: repository not found" in err and "no-such-repo" in err
    assert inserted(data, "good") == {"changes": 1}  # the other connector still ran
    status = {r["connector"]: r["status"] for r in data["connectors"]}
    assert status == {"good": "ok", "gone": "failed"}
    config = write_config(tmp_path, {"good": {**good, "branch": "no-such-branch"}})
    code, data, err = sync(config, store_path)
    assert code == 1 and "good: git rev-parse" in err
    assert rows(store_path, "SELECT count(*) FROM changes") == [(1,)]


def test_a_bad_config_section_names_the_key(tmp_path: Path, store_path: Path) -> None:
    config = write_config(tmp_path, {"repo": {"type": "git", "deploy_from": "releases", "colour": 1}})
    code, _, err = sync(config, store_path)
    assert code == 2
    assert "connectors.repo.path: required key is missing" in err
    assert "connectors.repo.deploy_from" in err and "connectors.repo.colour: unknown key" in err
