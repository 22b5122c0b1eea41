"""Which recording a selection compares against: --base REF, or the newest recorded ancestor."""

from __future__ import annotations

from pathlib import Path

from fastci.affected import storage
from fastci.affected.data import DepsData
from fastci.changes.git import resolve_commit, run_git, toplevel
from fastci.errors import UsageError
from fastci.plan.store import TimingsStore


def load_recording(
    store_path: Path, root: Path, base: str | None, window: int
) -> tuple[DepsData, str]:
    """The recording to compare with, and a note on how it was chosen."""
    repo = toplevel(root)
    if repo is None:
        raise UsageError(
            f"{root} is not in a git repository: fastci affected keys its data by commit"
        )
    if not store_path.is_file():
        raise UsageError(
            f"no timings store at {store_path}: run the suite with fastci run --record-deps first"
        )
    with TimingsStore(store_path, window=window) as store:
        commits = [c for c, _ in storage.recorded_commits(store)]
        if not commits:
            raise UsageError(
                f"{store_path} holds no dependency data: run fastci run --record-deps first"
            )
        commit, note = _choose(repo, commits, base)
        return storage.load(store, commit), note


def _choose(repo: Path, commits: list[str], base: str | None) -> tuple[str, str]:
    if base is not None:
        wanted = resolve_commit(repo, base) or base
        if wanted not in commits:
            raise UsageError(
                f"no dependency data recorded at {base}; recorded: "
                + ", ".join(c[:12] for c in commits[:5])
            )
        return wanted, f"--base {base}"
    for commit in commits:  # newest first
        ancestor = run_git(repo, "merge-base", "--is-ancestor", commit, "HEAD", check=False)
        if ancestor.returncode == 0:
            return commit, "the newest recorded ancestor of HEAD"
    return commits[0], "the newest recording (none is an ancestor of HEAD here)"
