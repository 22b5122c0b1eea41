"""The one module that runs git: plain functions over a repository path, NUL-separated output.

Every call runs with a clean environment (no inherited GIT_* variables, which a hook or an
outer git command can leave behind and which would point git at another repository), never
prompts for credentials, and never runs an external diff driver or an automatic gc.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from fastci.errors import FastciError

# Variables that configure how git reaches a remote rather than which repository it works on:
# CI systems set them for fetching, so they are kept.
KEPT_GIT_VARIABLES = frozenset(
    {
        "GIT_ASKPASS",
        "GIT_CONFIG_COUNT",
        "GIT_EXEC_PATH",
        "GIT_HTTP_PROXY_AUTHMETHOD",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
    }
)
# -c options for every call: no fsmonitor daemon, no gc triggered by our fetches.
GIT_OPTIONS = ("-c", "core.fsmonitor=false", "-c", "gc.auto=0")


class GitError(FastciError):
    """git failed; the message carries git's own last line of complaint."""


def git_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git call: ``environ`` without the variables that redirect git."""
    environ = os.environ if environ is None else environ
    env = {
        key: value
        for key, value in environ.items()
        if not key.startswith("GIT_")
        or key in KEPT_GIT_VARIABLES
        or key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env["GIT_TERMINAL_PROMPT"] = "0"  # a fetch must fail, not wait for a password nobody types
    return env


def git_available() -> bool:
    return shutil.which("git") is not None


def run_git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``git args`` in ``repo``; with ``check``, a non-zero exit raises GitError."""
    try:
        result = subprocess.run(
            ["git", *GIT_OPTIONS, *args],
            cwd=repo,
            env=git_env(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {last_line(result.stderr)}")
    return result


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def zsplit(text: str) -> list[str]:
    """Split git's -z output into its NUL-terminated items."""
    text = text.strip("\0")
    return text.split("\0") if text else []


def toplevel(path: Path) -> Path | None:
    """The root of the work tree containing ``path``, or None outside a repository or git."""
    if not git_available() or not path.is_dir():
        return None
    result = run_git(path, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return Path(result.stdout.strip()).resolve()


def resolve_commit(repo: Path, rev: str) -> str | None:
    """The full commit id ``rev`` names here, or None when it names no commit in this clone."""
    if rev.startswith("-"):
        return None  # never let a revision be read as an option
    result = run_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def source_revision(path: Path) -> tuple[str, str] | None:
    """(commit, tree) of the checkout at ``path``, or None outside git or before a commit.

    The tree is ``HEAD^{tree}``; with uncommitted changes to tracked files it gets a digest
    of them (``TREE+DIGEST``), so two runs share a tree only when they ran the same code.
    """
    if toplevel(path) is None:
        return None
    found = run_git(path, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if found.returncode != 0:  # no commit yet
        return None
    commit = found.stdout.strip()
    tree = run_git(path, "rev-parse", f"{commit}^{{tree}}").stdout.strip()
    diff = run_git(path, "diff", "--no-ext-diff", "--binary", "HEAD", check=False).stdout
    if diff:
        tree += "+" + hashlib.sha256(diff.encode(errors="surrogateescape")).hexdigest()[:12]
    return commit, tree


def is_shallow(repo: Path) -> bool:
    return run_git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"


def merge_base(repo: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None when the history here has none."""
    result = run_git(repo, "merge-base", a, b, check=False)
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def changed_since(repo: Path, base: str) -> list[str]:
    """Paths that differ between ``base`` and the work tree (committed, staged or not).

    Renames count as a deletion and an addition, so both the old and the new path are listed.
    """
    out = run_git(
        repo,
        "diff",
        "--name-only",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "-z",
        base,
        "--",
    ).stdout
    return zsplit(out)


def untracked(repo: Path) -> list[str]:
    """Files git does not track and does not ignore."""
    return zsplit(run_git(repo, "ls-files", "--others", "--exclude-standard", "-z").stdout)


def tracked(repo: Path) -> list[str]:
    return zsplit(run_git(repo, "ls-files", "-z").stdout)


def remotes(repo: Path) -> list[str]:
    return run_git(repo, "remote").stdout.split()


def remote_head_branch(repo: Path, remote: str) -> str | None:
    """The branch ``remote``'s HEAD points at (its default branch), when the clone knows it."""
    result = run_git(
        repo, "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", check=False
    )
    name = result.stdout.strip()
    prefix = f"{remote}/"
    return name[len(prefix) :] if result.returncode == 0 and name.startswith(prefix) else None


def current_branch(repo: Path) -> str | None:
    result = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None


def fetch(
    repo: Path,
    remote: str,
    *refspecs: str,
    depth: int | None = None,
    deepen: int | None = None,
    unshallow: bool = False,
) -> None:
    """Fetch ``refspecs`` (commit ids or refspecs) from ``remote``, without tags."""
    args = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules"]
    if depth is not None:
        args.append(f"--depth={depth}")
    if deepen is not None:
        args.append(f"--deepen={deepen}")
    if unshallow:
        args.append("--unshallow")
    run_git(repo, *args, remote, *refspecs)
