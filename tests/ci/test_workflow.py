"""fastci workflow: rewriting shows the difference and never overwrites hand edits silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.errors import ExitCode
from tests.helpers.cli import fastci
from tests.helpers.workflows import make_project

pytestmark = pytest.mark.usefixtures("no_ci")

WORKFLOW = ".github/workflows/ci.yml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.mark.parametrize(("provider", "path"), [("github", WORKFLOW), ("gitlab", ".gitlab-ci.yml")])
def test_running_again_changes_nothing_and_says_so(
    project: Path, capsys: pytest.CaptureFixture[str], provider: str, path: str
) -> None:
    first = fastci(capsys, "workflow", provider, "--root", project)
    written = (project / path).read_text()
    second = fastci(capsys, "workflow", provider, "--root", project)

    assert first.out == f"created {project / path}\n"
    assert second.out == f"unchanged {project / path}\n"
    assert (project / path).read_text() == written


def test_new_options_update_an_unedited_file_and_show_the_difference(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fastci(capsys, "workflow", "github", "--root", project)

    result = fastci(capsys, "workflow", "github", "--root", project, "--shards", "2")

    assert result.code == ExitCode.OK
    assert "-        shard: [1, 2, 3, 4]\n+        shard: [1, 2]\n" in result.out
    assert result.out.endswith(f"updated {project / WORKFLOW}\n")
    assert "shard: [1, 2]\n" in (project / WORKFLOW).read_text()


def test_hand_edits_are_kept_unless_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fastci(capsys, "workflow", "github", "--root", project)
    path = project / WORKFLOW
    edited = path.read_text().replace("timeout-minutes: 60", "timeout-minutes: 90")
    path.write_text(edited)

    refused = fastci(capsys, "workflow", "github", "--root", project)

    assert refused.code == ExitCode.USAGE_ERROR
    assert "-    timeout-minutes: 90\n+    timeout-minutes: 60\n" in refused.out
    assert "has been edited by hand" in refused.err
    assert "--force" in refused.err
    assert path.read_text() == edited

    forced = fastci(capsys, "workflow", "github", "--root", project, "--force")

    assert forced.code == ExitCode.OK
    assert "timeout-minutes: 60" in path.read_text()


def test_a_workflow_fastci_did_not_write_is_never_overwritten_without_force(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project / WORKFLOW
    path.parent.mkdir(parents=True)
    path.write_text("name: ours\non: push\njobs: {}\n")

    result = fastci(capsys, "workflow", "github", "--root", project)

    assert result.code == ExitCode.USAGE_ERROR
    assert path.read_text() == "name: ours\non: push\njobs: {}\n"


def test_stdout_prints_the_workflow_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = fastci(capsys, "workflow", "github", "--root", project, "--stdout")

    assert result.out.startswith("# CI: gate, lint, test shards")
    assert "fastci-digest: sha256:" in result.out
    assert not (project / WORKFLOW).exists()


def test_the_same_options_write_the_same_bytes(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = make_project(tmp_path / "other")
    flags = ("--stdout", "--shards", "6", "--python", "3.11", "3.12")
    for provider in ("github", "gitlab"):
        assert (
            fastci(capsys, "workflow", provider, "--root", project, *flags).out
            == fastci(capsys, "workflow", provider, "--root", other, *flags).out
        )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ("--python", "3.x"),
            "--python: must be a Python version like 3.12 or pypy3.10, got '3.x'",
        ),
        (("--shards", "0"), "--shards: must be a whole number from 1 to 1000, got '0'"),
        (("--lint", "pylint"), "--lint 'pylint': expected 'auto', 'none'"),
        (("--fail-under", "120"), "--fail-under: must be a percentage from 0 to 100, got '120'"),
        (("--shards", "100", "--python", "3.11", "3.12", "3.13"), "more than the 256 jobs"),
    ],
)
def test_bad_options_are_usage_errors_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], message: str
) -> None:
    result = fastci(capsys, "workflow", "github", "--root", project, *flags)

    assert result.code == ExitCode.USAGE_ERROR
    assert message in result.err
    assert result.err.count("\n") == 1


def test_a_project_below_the_repository_root_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = project / "services" / "api"
    sub.mkdir(parents=True)
    (sub / "pyproject.toml").write_text("")

    result = fastci(capsys, "workflow", "github", "--root", sub)

    assert result.code == ExitCode.USAGE_ERROR
    assert "is not the root of its git repository" in result.err
