"""fastci gate: doc-only changes skip, anything the tests depend on runs, and it says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.changes.diff import ChangeSet
from fastci.changes.gate import DEFAULT_INCLUDE, GateRules, decide
from fastci.config import load_config
from fastci.errors import ExitCode
from tests.helpers.cli import fastci
from tests.helpers.git import (
    commit,
    git,
    new_project,
    no_ci,  # noqa: F401 - a fixture, used by name below
    write,
)

pytestmark = pytest.mark.usefixtures("no_ci")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project on main, and a branch `change` to commit the change under test to."""
    repo = new_project(tmp_path / "project")
    git(repo, "checkout", "--quiet", "-b", "change")
    return repo


def gate(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    result = fastci(capsys, "gate", "--root", project, *args)
    assert result.err == ""
    return result.code, result.out.strip()


def test_a_docs_only_change_skips(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(project, {"README.md": "Better words.\n", "docs/guide.md": "New page.\n"})

    code, line = gate(capsys, project)

    assert code == ExitCode.GATE_SKIP
    assert line.startswith("skip: 2 paths changed since the default branch main")
    assert line.endswith("none selected: README.md, docs/guide.md")


def test_a_source_change_runs_and_names_the_path_that_decided(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(
        project, {"README.md": "Words.\n", "src/shop/orders.py": "def total(p):\n    return 0\n"}
    )

    code, line = gate(capsys, project)

    assert code == ExitCode.OK
    assert line.startswith("run: src/shop/orders.py changed and matches '*.py'")


@pytest.mark.parametrize(
    "path",
    [
        "tests/fixtures/orders.json",
        "src/shop/templates/receipt.html",
        "requirements-dev.txt",
        "uv.lock",
        "pyproject.toml",
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
        "setup.py",
    ],
)
def test_what_the_tests_depend_on_runs_them(
    project: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    commit(project, {path: '[project]\nname = "shop"\n' if path.endswith(".toml") else "x\n"})

    code, line = gate(capsys, project)

    assert code == ExitCode.OK, line
    assert line.startswith(f"run: {path} changed")


def test_a_flat_layout_package_runs_for_its_data_files(tmp_path: Path) -> None:
    repo = new_project(tmp_path / "flat", {"pyproject.toml": "", "shop/__init__.py": ""})
    rules = GateRules.from_config(load_config(root=repo))

    assert "/shop/" in rules.include
    assert rules.selecting_pattern("shop/templates/receipt.html") == "/shop/"
    assert rules.selecting_pattern("docs/shop/page.md") is None


def test_nothing_changed_skips(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = gate(capsys, project)

    assert code == ExitCode.GATE_SKIP
    assert line.startswith("skip: nothing changed since the default branch main")


def test_the_answer_is_appended_to_github_output(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outputs = tmp_path / "github-output"
    outputs.write_text("earlier=1\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))

    commit(project, {"docs/guide.md": "New page.\n"})
    assert gate(capsys, project)[0] == ExitCode.GATE_SKIP
    commit(project, {"src/shop/new.py": ""})
    assert gate(capsys, project)[0] == ExitCode.OK

    assert outputs.read_text() == "earlier=1\nrun=false\nrun=true\n"


def test_exclude_patterns_win_over_include_patterns(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = '\n[tool.fastci.gate]\nexclude = ["docs/", "scripts/"]\n'
    write(project, {"pyproject.toml": (project / "pyproject.toml").read_text() + settings})
    git(project, "commit", "--quiet", "-am", "settings")
    git(project, "branch", "--quiet", "--force", "main")  # the settings are on main too
    commit(project, {"docs/conf.py": "", "scripts/release.py": ""})

    code, line = gate(capsys, project)

    assert code == ExitCode.GATE_SKIP, line


def test_include_patterns_replace_the_defaults_and_extend_include_adds(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(project, {"docs/guide.md": "New page.\n"})

    assert gate(capsys, project, "--extend-include", "docs/")[0] == ExitCode.OK
    assert gate(capsys, project, "--include", "*.py")[0] == ExitCode.GATE_SKIP
    code, line = gate(capsys, project, "--include", "*.md")
    assert code == ExitCode.OK
    assert "docs/guide.md changed and matches '*.md'" in line


def test_verbose_lists_every_path_with_its_pattern(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit(project, {"README.md": "x\n", "src/shop/orders.py": ""})

    out = fastci(capsys, "gate", "--root", project, "--verbose").out

    assert out.splitlines()[:2] == ["  skip  README.md", "  run   src/shop/orders.py  (*.py)"]


def test_outside_a_git_repository_the_gate_runs_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "plain", {"pyproject.toml": "", "app.py": ""})

    code, line = gate(capsys, tmp_path / "plain")

    assert code == ExitCode.OK
    assert line == "run: every path counts as changed: not inside a git repository"


def test_on_the_default_branch_itself_everything_counts_as_changed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(project, "checkout", "--quiet", "main")

    code, line = gate(capsys, project)

    assert code == ExitCode.OK
    assert "HEAD is on the default branch main" in line


def test_an_unknown_ci_building_a_commit_of_main_runs(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    git(project, "checkout", "--quiet", "--detach", "main")
    monkeypatch.setenv("CI", "true")

    code, line = gate(capsys, project)

    assert code == ExitCode.OK
    assert "this is a CI run" in line


def test_a_bad_pattern_setting_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, {"pyproject.toml": "[tool.fastci.gate]\ninclude = 3\n"})

    result = fastci(capsys, "gate", "--root", project)

    assert result.code == ExitCode.USAGE_ERROR
    assert "[tool.fastci] gate.include must be a list of strings" in result.err


def test_in_a_project_below_the_repository_root_patterns_are_relative_to_the_project(
    tmp_path: Path,
) -> None:
    project = tmp_path / "repo" / "services" / "api"
    rules = GateRules(DEFAULT_INCLUDE)

    def verdict(*paths: str) -> bool:
        changes = ChangeSet(tmp_path / "repo", paths, "0" * 40, "a test")
        return decide(changes, rules, project).run

    assert verdict("services/api/src/api/app.py")
    assert not verdict("services/api/docs/index.md")
    assert verdict(".github/workflows/ci.yml")  # the repository's workflow is still ours
    assert verdict("services/web/build.py")  # a path outside the project can only add runs
