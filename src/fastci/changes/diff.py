"""What a change touched: the paths that differ from where the change started.

Where it started depends on who asks. On a pull request (GitHub) or merge request (GitLab) it
is the merge base with the request's base; on a push, the commit the branch pointed at before
the push (else the previous commit); on a laptop, the merge base with the default branch.
A shallow clone is deepened just enough to find that merge base. When the answer cannot be
known (no history to fetch, a scheduled run, a tag), every path counts as changed: running
too much costs minutes, skipping too much loses results.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastci.changes import git
from fastci.errors import UsageError

# How many commits each successive fetch adds to a shallow clone before giving up and
# fetching the whole history: a pull request's merge commit needs 1, most branches < 100.
DEEPEN_STEPS = (1, 10, 100, 1000)
ZERO_SHA = re.compile(r"^0+$")
FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclasses.dataclass(frozen=True)
class Base:
    """Where a change starts, before it is looked up: a revision and how it was chosen."""

    rev: str  # what to resolve here: a commit id, a branch, HEAD^
    described: str  # for people: "the pull request's base 1a2b3c4d5e6f"
    fetch_ref: str | None = None  # what to fetch from the remote when the clone lacks it
    explicit: bool = False  # named by the user: not finding it is a usage error


@dataclasses.dataclass(frozen=True)
class Everything:
    """The change cannot be narrowed down: every path counts as changed, for this reason."""

    reason: str


@dataclasses.dataclass(frozen=True)
class ChangeSet:
    """The changed paths (relative to the repository root, sorted) and how they were found."""

    repo_root: Path | None
    paths: tuple[str, ...]
    base: str | None  # the commit the paths are measured from (a merge base)
    described: str  # how that base was chosen
    everything_reason: str | None = None  # set when every path counts as changed
    fetched: tuple[str, ...] = ()  # history fetched to find the base, for the log

    @property
    def everything(self) -> bool:
        return self.everything_reason is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "described": self.described,
            "everything": self.everything,
            "reason": self.everything_reason,
            "fetched": list(self.fetched),
            "paths": list(self.paths),
        }


def find_changes(
    project_root: Path,
    base: str | None = None,
    default_branch: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChangeSet:
    """The paths changed in the repository holding ``project_root``.

    ``base`` (a branch, tag or commit) overrides what CI or the default branch would choose.
    Outside a git repository the ChangeSet has no repo_root and counts everything as changed.
    """
    environ = os.environ if environ is None else environ
    if base is not None and (not base.strip() or base.startswith("-")):
        raise UsageError(f"--base {base!r} is not a branch, tag or commit")
    if not git.git_available():
        return ChangeSet(None, (), None, "", everything_reason="git is not installed")
    repo = git.toplevel(project_root)
    if repo is None:
        return ChangeSet(None, (), None, "", everything_reason="not inside a git repository")
    head = git.resolve_commit(repo, "HEAD")
    if head is None:
        return _everything(repo, "the repository has no commits yet")
    remote = _remote(repo)
    choice: Base | Everything | None = (
        explicit_base(base, remote) if base is not None else ci_base(environ, remote)
    )
    local = choice is None
    if choice is None:
        choice = local_base(repo, remote, default_branch)
    if isinstance(choice, Everything):
        return _everything(repo, choice.reason)
    fetched: list[str] = []
    located = locate_merge_base(repo, choice, head, remote, fetched)
    if isinstance(located, Everything):
        return _everything(repo, located.reason, choice.described, fetched)
    if local and located == head and environ.get("CI"):
        # An unknown CI building a commit the default branch already has (a build of main
        # itself): comparing it with itself would skip everything.
        reason = f"HEAD is already on {choice.described}, and this is a CI run"
        return _everything(repo, reason, choice.described, fetched)
    paths = set(git.changed_since(repo, located)) | set(git.untracked(repo))
    return ChangeSet(repo, tuple(sorted(paths)), located, choice.described, None, tuple(fetched))


def _everything(
    repo: Path, reason: str, described: str = "", fetched: list[str] | None = None
) -> ChangeSet:
    paths = set(git.tracked(repo)) | set(git.untracked(repo))
    return ChangeSet(repo, tuple(sorted(paths)), None, described, reason, tuple(fetched or ()))


def _remote(repo: Path) -> str | None:
    names = git.remotes(repo)
    if "origin" in names:
        return "origin"
    return names[0] if names else None


def explicit_base(rev: str, remote: str | None) -> Base:
    fetch_ref = rev
    if remote is not None and rev.startswith(f"{remote}/"):
        fetch_ref = rev[len(remote) + 1 :]  # origin/main is fetched as main
    return Base(rev, f"--base {rev}", fetch_ref=fetch_ref, explicit=True)


def ci_base(environ: Mapping[str, str], remote: str | None) -> Base | Everything | None:
    """Where the change of the running CI job starts; None when not running in a known CI."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return github_base(environ, remote)
    if environ.get("GITLAB_CI") == "true":
        return gitlab_base(environ, remote)
    return None


def github_base(environ: Mapping[str, str], remote: str | None) -> Base | Everything:
    event = environ.get("GITHUB_EVENT_NAME", "")
    payload = _event_payload(environ.get("GITHUB_EVENT_PATH"))
    if event in ("pull_request", "pull_request_target"):
        sha = _dig(payload, "pull_request", "base", "sha")
        if sha:
            return _commit_base(sha, "the pull request's base")
        branch = environ.get("GITHUB_BASE_REF")
        if branch:
            return _branch_base(branch, remote, "the pull request's base branch")
        return Everything(f"the {event} event names no base commit")
    if event == "merge_group":
        sha = _dig(payload, "merge_group", "base_sha")
        if sha:
            return _commit_base(sha, "the merge queue's base")
        return Everything("the merge_group event names no base commit")
    if event == "push":
        if environ.get("GITHUB_REF", "").startswith("refs/tags/"):
            return Everything("a tag push tests everything")
        return _push_base(_dig(payload, "before"))
    return Everything(f"a {event or 'manual'} run tests everything")


def gitlab_base(environ: Mapping[str, str], remote: str | None) -> Base | Everything:
    sha = environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA")
    if sha:
        return _commit_base(sha, "the merge request's base")
    branch = environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    if branch:
        return _branch_base(branch, remote, "the merge request's target branch")
    source = environ.get("CI_PIPELINE_SOURCE", "")
    if source == "push":
        if environ.get("CI_COMMIT_TAG"):
            return Everything("a tag pipeline tests everything")
        return _push_base(environ.get("CI_COMMIT_BEFORE_SHA"))
    return Everything(f"a {source or 'manual'} pipeline tests everything")


def local_base(repo: Path, remote: str | None, default_branch: str | None) -> Base | Everything:
    """The merge base with the default branch: configured, else the remote's HEAD, main, master."""
    names = [default_branch] if default_branch else []
    if remote is not None:
        head_branch = git.remote_head_branch(repo, remote)
        if head_branch:
            names.append(head_branch)
    names += ["main", "master"]
    # A branch is never its own base: on the default branch itself, pass --base.
    current = git.current_branch(repo)
    if current == names[0]:
        return Everything(
            f"HEAD is on the default branch {current}: pass --base REF to compare with a commit"
        )
    names = [name for name in dict.fromkeys(names) if name != current]
    tried = []
    for name in names:
        for rev in ([f"{remote}/{name}"] if remote else []) + [name]:
            tried.append(rev)
            if git.resolve_commit(repo, rev) is not None:
                return Base(rev, f"the default branch {rev}")
    if remote is not None:
        # A clone of one branch (as CI makes) has no other branch: fetch the likeliest.
        return _branch_base(names[0], remote, "the default branch")
    return Everything(
        f"no default branch found (tried {', '.join(tried)}): pass --base REF or set "
        "[tool.fastci.changes] default-branch"
    )


def _commit_base(sha: str, described: str) -> Base:
    return Base(sha, f"{described} {sha[:12]}", fetch_ref=sha)


def _branch_base(branch: str, remote: str | None, described: str) -> Base:
    rev = f"{remote}/{branch}" if remote else branch
    return Base(rev, f"{described} {rev}", fetch_ref=branch)


def _push_base(before: object) -> Base:
    """The branch tip before the push; for a new branch (no such tip), the previous commit."""
    if isinstance(before, str) and before and not ZERO_SHA.match(before):
        return _commit_base(before, "the branch tip before the push")
    return Base("HEAD^", "the previous commit (HEAD^)")


def _event_payload(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _dig(payload: dict[str, Any], *keys: str) -> str | None:
    value: Any = payload
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def locate_merge_base(
    repo: Path, base: Base, head: str, remote: str | None, fetched: list[str]
) -> str | Everything:
    """The merge base of ``base`` and HEAD, fetching just enough history when the clone is shallow.

    Appends a line per fetch to ``fetched``. Raises UsageError for an explicit base that cannot
    be found; any other failure counts everything as changed.
    """
    search = _MergeBaseSearch(repo, base, head, remote, fetched)
    problem = ""
    try:
        found = search.run()
    except git.GitError as e:
        found, problem = None, f" ({e.message})"
    if found is not None:
        return found
    if search.base_sha is None:
        where = f"in this clone or on {remote}" if remote else "in this clone, which has no remote"
        message = f"{base.described} is not {where}{problem}"
    elif problem:
        message = f"could not fetch the history between {base.described} and HEAD{problem}"
    else:
        message = f"{base.described} and HEAD share no history"
    if base.explicit:
        raise UsageError(f"{message}; pass a branch, tag or commit this repository has")
    return Everything(message)


@dataclasses.dataclass
class _MergeBaseSearch:
    """Looks for the merge base, deepening a shallow clone step by step until it shows."""

    repo: Path
    base: Base
    head: str
    remote: str | None
    fetched: list[str]
    base_sha: str | None = None

    def run(self) -> str | None:
        self.base_sha = git.resolve_commit(self.repo, self.base.rev)
        if self.base_sha is None and self.base.fetch_ref is not None and self.remote is not None:
            depth = 1 if git.is_shallow(self.repo) else None
            git.fetch(self.repo, self.remote, self.base.fetch_ref, depth=depth)
            self.fetched.append(f"fetched {self.base.fetch_ref} from {self.remote}")
            self.base_sha = git.resolve_commit(self.repo, "FETCH_HEAD")
        for step in (*DEEPEN_STEPS, None):
            if self.base_sha is not None:
                found = git.merge_base(self.repo, self.base_sha, self.head)
                if found is not None:
                    return found
            if self.remote is None or not git.is_shallow(self.repo):
                return None
            self._deepen(self.remote, step)
        return None

    def _deepen(self, remote: str, step: int | None) -> None:
        """Fetch ``step`` more commits of history (None: all of it)."""
        wanted = [self.head] if self.base_sha is None else [self.head, self.base_sha]
        if step is None:
            git.fetch(self.repo, remote, *wanted, unshallow=True)
            self.fetched.append(f"fetched the whole history from {remote}")
        else:
            git.fetch(self.repo, remote, *wanted, deepen=step)
            self.fetched.append(f"fetched {step} more commit(s) of history from {remote}")
        if self.base_sha is None:
            self.base_sha = git.resolve_commit(self.repo, self.base.rev)
