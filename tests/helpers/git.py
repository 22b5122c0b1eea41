"""Real git repositories for tests: create, commit, clone shallow, and run fastci in them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from fastci.changes.git import git_env

# Variables through which a CI provider would steer fastci changes; tests set them explicitly.
CI_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_BASE_REF",
    "GITHUB_REF",
    "GITHUB_OUTPUT",
    "GITLAB_CI",
    "CI_PIPELINE_SOURCE",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_TAG",
)
PROJECT = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1.0"\n',
    "README.md": "# shop\n",
    "docs/index.md": "Shop docs.\n",
    "src/shop/__init__.py": "",
    "src/shop/orders.py": "def total(prices):\n    return sum(prices)\n",
    "tests/test_orders.py": "from shop.orders import total\n\n\ndef test_total():\n"
    "    assert total([1, 2]) == 3\n",
}


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as on a laptop, even when the test suite itself runs on CI."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-c", "user.name=fastci tests",
            "-c", "user.email=tests@fastci.invalid",
            "-c", "commit.gpgsign=false",
            "-c", "init.defaultBranch=main",
            "-c", "protocol.file.allow=always",
            *args,
        ],
        cwd=repo,
        env=git_env(),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.strip()


def write(repo: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(repo: Path, files: Mapping[str, str], message: str = "change") -> str:
    """Write ``files``, commit everything, return the new commit id."""
    write(repo, files)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_project(path: Path, files: Mapping[str, str] = PROJECT) -> Path:
    """A repository on branch main with one commit holding a small Python project."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    commit(path, files, "the project")
    return path


def shallow_clone(upstream: Path, target: Path, branch: str = "main") -> Path:
    """What CI checks out: one commit of one branch, with upstream as origin.

    The upstream's HEAD is put on main first, as a hosted repository's HEAD names its
    default branch.
    """
    git(upstream, "symbolic-ref", "HEAD", "refs/heads/main")
    git(target.parent, "clone", "--quiet", "--depth=1", f"--branch={branch}",
        upstream.as_uri(), str(target))  # fmt: skip
    return target


def checkout_commit_shallow(upstream: Path, target: Path, ref: str) -> Path:
    """What actions/checkout does for a pull request: fetch one ref's commit, depth 1."""
    target.mkdir(parents=True)
    git(target, "init", "--quiet")
    git(target, "remote", "add", "origin", upstream.as_uri())
    git(target, "fetch", "--quiet", "--depth=1", "origin", ref)
    git(target, "checkout", "--quiet", "--detach", "FETCH_HEAD")
    return target


def github_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, payload: dict[str, object]
) -> None:
    """Make this process look like a GitHub Actions job started by event ``name``."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload), encoding="utf-8")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
