"""fastci changes: the right base on a laptop, on a pull request, on a push, in shallow clones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fastci.changes.diff import find_changes
from fastci.errors import ExitCode
from tests.helpers.cli import fastci
from tests.helpers.git import (
    checkout_commit_shallow,
    commit,
    git,
    github_event,
    new_project,
    no_ci,  # noqa: F401 - a fixture, used by name below
    shallow_clone,
    write,
)

pytestmark = pytest.mark.usefixtures("no_ci")


@pytest.fixture(scope="module")
def upstream_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main with some history, a branch `feature` changing the code, then main moving on."""
    repo = new_project(tmp_path_factory.mktemp("template") / "upstream")
    for n in range(HISTORY):
        commit(repo, {"CHANGELOG.md": f"release {n}\n"}, f"release {n}")
    git(repo, "checkout", "--quiet", "-b", "feature")
    commit(repo, {"src/shop/orders.py": "def total(prices):\n    return sum(prices, 0)\n"})
    commit(repo, {"tests/test_more.py": "def test_more():\n    pass\n"})
    git(repo, "checkout", "--quiet", "main")
    commit(repo, {"docs/index.md": "Main moved on.\n"}, "main moves on")
    git(repo, "checkout", "--quiet", "feature")
    return repo


@pytest.fixture
def upstream(upstream_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template repository for one test to change."""
    return Path(shutil.copytree(upstream_template, tmp_path / "upstream", symlinks=True))


FEATURE_PATHS = ["src/shop/orders.py", "tests/test_more.py"]
HISTORY = 20  # commits before the branch: more than a shallow clone's first deepening


def test_a_branch_lists_what_it_changed_since_the_merge_base_with_main(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = fastci(capsys, "changes", "--root", upstream)

    assert result.code == ExitCode.OK
    assert result.lines == FEATURE_PATHS  # not docs/index.md, which only main changed
    assert "2 paths changed since the default branch main" in result.err


def test_uncommitted_and_untracked_files_count_as_changed(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(upstream, {"README.md": "edited\n", "notes.txt": "new\n"})

    result = fastci(capsys, "changes", "--root", upstream)

    assert result.lines == ["README.md", "notes.txt", *FEATURE_PATHS]


def test_a_rename_lists_the_old_and_the_new_path(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(upstream, "mv", "src/shop/orders.py", "src/shop/ordering.py")
    git(upstream, "commit", "--quiet", "-m", "rename")

    result = fastci(capsys, "changes", "--root", upstream)

    assert "src/shop/orders.py" in result.lines
    assert "src/shop/ordering.py" in result.lines


def test_base_names_what_the_change_is_measured_from(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = fastci(capsys, "changes", "--root", upstream, "--base", "feature~1")

    assert result.lines == ["tests/test_more.py"]


def test_paths_can_be_nul_separated_or_json(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        fastci(capsys, "changes", "--root", upstream, "-z").out == "\0".join(FEATURE_PATHS) + "\0"
    )
    result = fastci(capsys, "changes", "--root", upstream, "--json")
    assert '"everything": false' in result.out
    assert '"src/shop/orders.py"' in result.out


def test_an_unknown_base_is_a_usage_error_in_one_line(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = fastci(capsys, "changes", "--root", upstream, "--base", "no-such-branch")

    assert result.code == ExitCode.USAGE_ERROR
    assert result.err.count("\n") == 1
    assert "--base no-such-branch is not in this clone" in result.err


def test_a_configured_default_branch_is_the_base_outside_ci(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(upstream, "branch", "--quiet", "develop", "feature~1")
    write(upstream, {"pyproject.toml": (upstream / "pyproject.toml").read_text()
                     + '\n[tool.fastci.changes]\ndefault-branch = "develop"\n'})  # fmt: skip

    result = fastci(capsys, "changes", "--root", upstream)

    assert result.lines == ["pyproject.toml", "tests/test_more.py"]


def test_a_shallow_clone_fetches_just_enough_history_to_find_the_merge_base(
    upstream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", branch="feature")
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"

    result = fastci(capsys, "changes", "--root", clone)

    assert result.code == ExitCode.OK
    assert result.lines == FEATURE_PATHS
    assert "fetched main from origin" in result.err
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"  # not the whole history


def test_a_pull_request_compares_its_merge_commit_with_the_event_base(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitHub tests a pull request as refs/pull/N/merge: feature merged into main's tip.
    main_tip = git(upstream, "rev-parse", "main")
    git(upstream, "checkout", "--quiet", "--detach", "main")
    git(upstream, "merge", "--quiet", "--no-ff", "-m", "merge", "feature")
    git(upstream, "update-ref", "refs/pull/7/merge", "HEAD")
    git(upstream, "checkout", "--quiet", "feature")
    clone = checkout_commit_shallow(upstream, tmp_path / "clone", "refs/pull/7/merge")
    github_event(
        tmp_path, monkeypatch, "pull_request", {"pull_request": {"base": {"sha": main_tip}}}
    )

    changes = find_changes(clone)

    assert list(changes.paths) == FEATURE_PATHS
    assert changes.base == main_tip
    assert changes.described.startswith("the pull request's base")


def test_a_push_compares_with_the_branch_tip_before_the_push(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = git(upstream, "rev-parse", "feature~2")  # the push brought both feature commits
    clone = shallow_clone(upstream, tmp_path / "clone", branch="feature")
    github_event(tmp_path, monkeypatch, "push", {"before": before})
    monkeypatch.setenv("GITHUB_REF", "refs/heads/feature")

    changes = find_changes(clone)

    assert list(changes.paths) == FEATURE_PATHS
    assert changes.base == before


def test_a_push_that_creates_a_branch_compares_with_the_previous_commit(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", branch="feature")
    github_event(tmp_path, monkeypatch, "push", {"before": "0" * 40})

    changes = find_changes(clone)

    assert list(changes.paths) == ["tests/test_more.py"]
    assert changes.described == "the previous commit (HEAD^)"


def test_a_gitlab_merge_request_compares_with_its_diff_base(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", branch="feature")
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", git(upstream, "rev-parse", "feature~2"))

    assert list(find_changes(clone).paths) == FEATURE_PATHS


@pytest.mark.parametrize(
    ("event", "reason"),
    [("schedule", "a schedule run tests everything"), ("workflow_dispatch", "a workflow_dispatch")],
)
def test_a_scheduled_or_manual_run_counts_everything_as_changed(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, event: str, reason: str
) -> None:
    github_event(tmp_path, monkeypatch, event, {})

    changes = find_changes(upstream)

    assert changes.everything
    assert reason in str(changes.everything_reason)
    assert "README.md" in changes.paths  # every tracked file


def test_a_shallow_clone_that_cannot_fetch_counts_everything_as_changed_and_says_why(
    upstream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone = shallow_clone(upstream, tmp_path / "clone", branch="feature")
    git(clone, "remote", "set-url", "origin", (tmp_path / "gone").as_uri())

    result = fastci(capsys, "changes", "--root", clone)

    assert result.code == ExitCode.OK
    assert "every path counts as changed" in result.err
    assert "the default branch origin/main is not in this clone or on origin" in result.err
    assert "README.md" in result.lines  # every tracked file is listed


def test_a_repository_without_commits_counts_everything_as_changed(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "--quiet")

    assert find_changes(repo).everything_reason == "the repository has no commits yet"


def test_outside_a_git_repository_changes_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "plain", {"pyproject.toml": "", "app.py": ""})

    result = fastci(capsys, "changes", "--root", tmp_path / "plain")

    assert result.code == ExitCode.USAGE_ERROR
    assert "not inside a git repository" in result.err
    assert "Traceback" not in result.err


def test_git_variables_of_an_outer_repository_are_ignored(
    upstream: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A git hook exports GIT_DIR; fastci must still read the repository it was pointed at.
    other = new_project(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))

    assert list(find_changes(upstream).paths) == FEATURE_PATHS
