"""Whether anything in the project changed since the data's commit, for tests that started a
process (fastci sees neither what the process ran nor what it read)."""

from __future__ import annotations

from pathlib import Path

from fastci.changes.git import GitError, changed_since, toplevel, untracked


def first_change(root: Path, commit: str) -> str | None:
    """A path under ``root`` that differs from ``commit`` (or a reason git cannot tell),
    None when the project is as it was."""
    repo = toplevel(root)
    if repo is None:
        return "no git repository to compare with"
    try:
        paths = [*changed_since(repo, commit), *untracked(repo)]
    except GitError:
        return f"commit {commit[:12]} is not in this clone, so what changed is unknown"
    inside = root.resolve().relative_to(repo).as_posix()
    prefix = "" if inside == "." else inside + "/"
    for path in sorted(paths):
        if path.startswith(prefix) and not path.startswith(f"{prefix}.fastci/"):
            return path[len(prefix) :] + " changed"
    return None
