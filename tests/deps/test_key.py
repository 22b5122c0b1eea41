"""fastci deps key: stable, sensitive to every real input, blind to cosmetic edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastci.errors import ExitCode
from tests.helpers.deps import RunFastci, write

PYTHON = sys.executable


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    write(
        root / "requirements.txt",
        """
        # web
        Django>=4.2,<5   # LTS
        requests==2.32.3
        -r requirements-dev.txt
        -c constraints.txt
        """,
    )
    write(root / "requirements-dev.txt", "pytest>=8\n")
    write(root / "constraints.txt", "urllib3<3\n")
    write(
        root / "pyproject.toml",
        """
        [project]
        name = "app"
        version = "1"
        dependencies = ["httpx>=0.27"]

        [project.optional-dependencies]
        docs = ["sphinx"]
        all = ["app[docs]"]

        [dependency-groups]
        test = ["pytest-cov", {include-group = "lint"}]
        lint = ["ruff"]
        """,
    )
    return root


def key_of(fastci: RunFastci, root: Path, *extra: str) -> str:
    result = fastci("deps", "key", "--root", root, "--python", PYTHON, *extra)
    assert result.code == ExitCode.OK, result.err
    return result.out.strip()


def changed_inputs(fastci: RunFastci, root: Path, before: Path) -> str:
    result = fastci("deps", "key", "--root", root, "--python", PYTHON, "--diff", before)
    assert result.code == ExitCode.OK, result.err
    return result.out


def save_record(fastci: RunFastci, root: Path, path: Path) -> Path:
    result = fastci("deps", "key", "--root", root, "--python", PYTHON, "--json")
    path.write_text(result.out, encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_key_is_stable_across_runs_and_processes(fastci: RunFastci, project: Path) -> None:
    in_process = key_of(fastci, project)
    assert key_of(fastci, project) == in_process
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "fastci", "deps", "key", "--python", PYTHON],
            cwd=project,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        assert result.stdout.strip() == in_process
    assert in_process.startswith("fastci-deps-v1-cp")


def test_the_key_does_not_depend_on_the_checkout_path(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    elsewhere = shutil.copytree(project, tmp_path / "somewhere" / "else")
    assert key_of(fastci, elsewhere) == key_of(fastci, project)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("# web\n", "# the web framework\n\n\n"),
        ("   # LTS", ""),
        ("Django>=4.2,<5", "django  >= 4.2 , < 5"),
        ("Django>=4.2,<5", "Django<5,>=4.2"),
        ("-r requirements-dev.txt", "--requirement=requirements-dev.txt"),
    ],
    ids=["comment-and-blank-lines", "trailing-comment", "spelling", "specifier-order", "option"],
)
def test_a_cosmetic_edit_does_not_change_the_key(
    fastci: RunFastci, project: Path, old: str, new: str
) -> None:
    before = key_of(fastci, project)
    edit(project / "requirements.txt", old, new)
    assert key_of(fastci, project) == before


def test_the_order_of_a_requirement_files_lines_does_not_change_the_key(
    fastci: RunFastci, project: Path
) -> None:
    before = key_of(fastci, project)
    path = project / "requirements.txt"
    path.write_text("\n".join(reversed(path.read_text().splitlines())) + "\n")
    assert key_of(fastci, project) == before


@pytest.mark.parametrize(
    "change",  # (file, old text, new text, the input diff names)
    [
        (
            "requirements.txt",
            "requests==2.32.3",
            "requests==2.32.4",
            "requirements:requirements.txt",
        ),
        ("requirements-dev.txt", "pytest>=8", "pytest>=8.3", "requirements:requirements-dev.txt"),
        ("constraints.txt", "urllib3<3", "urllib3<2", "requirements:constraints.txt"),
        ("pyproject.toml", '"httpx>=0.27"', '"httpx>=0.28"', "pyproject:dependencies"),
        ("pyproject.toml", '"sphinx"', '"sphinx<8"', "pyproject:optional-dependencies.docs"),
        ("pyproject.toml", '"ruff"', '"ruff==0.6"', "pyproject:dependency-groups.lint"),
    ],
    ids=["requirement", "included-file", "constraint-file", "dependencies", "extra", "group"],
)
def test_a_real_change_changes_the_key_and_diff_names_the_input(
    fastci: RunFastci, project: Path, tmp_path: Path, change: tuple[str, str, str, str]
) -> None:
    file, old, new, named = change
    before = save_record(fastci, project, tmp_path / "before.json")
    edit(project / file, old, new)
    assert key_of(fastci, project) != json.loads(before.read_text())["key"]
    diff = changed_inputs(fastci, project, before)
    assert f"changed: {named}\n" in diff
    assert sum(line.startswith("changed:") for line in diff.splitlines()) == 1


def test_diff_shows_the_lines_added_and_removed(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    before = save_record(fastci, project, tmp_path / "before.json")
    edit(project / "requirements.txt", "requests==2.32.3", "requests==2.32.4\nhttpx")
    diff = changed_inputs(fastci, project, before)
    assert "+ requests==2.32.4" in diff
    assert "+ httpx" in diff
    assert "- requests==2.32.3" in diff


@pytest.mark.parametrize(
    "name", ["requirements-docs.txt", "dev-requirements.txt", "requirements/test.txt"]
)
def test_a_new_requirement_file_is_an_added_input(
    fastci: RunFastci, project: Path, tmp_path: Path, name: str
) -> None:
    before = save_record(fastci, project, tmp_path / "before.json")
    write(project / name, "mkdocs\n")
    assert f"added: requirements:{name}\n" in changed_inputs(fastci, project, before)


def test_explain_lists_every_input_with_its_hash(fastci: RunFastci, project: Path) -> None:
    result = fastci("deps", "key", "--root", project, "--python", PYTHON, "--explain")
    names = [line.split()[0] for line in result.out.splitlines()[1:]]
    assert names == [
        "format",
        "platform",
        "pyproject:build-system.requires",  # setuptools, as for any [project] without one
        "pyproject:dependencies",
        "pyproject:dependency-groups.lint",
        "pyproject:dependency-groups.test",
        "pyproject:optional-dependencies.all",
        "pyproject:optional-dependencies.docs",
        "python",
        "requirements:constraints.txt",
        "requirements:requirements-dev.txt",
        "requirements:requirements.txt",
    ]
    assert all(len(line.split()[1]) == 12 for line in result.out.splitlines()[1:])


def other_python() -> str | None:
    """A working interpreter of another minor version than this one, if there is one."""
    # Installed side by side (pyenv, asdf, a CI's tool cache): the siblings of this one.
    siblings = sorted(Path(sys.base_prefix).parent.glob("3.*/bin/python3"))
    candidates = [shutil.which(f"python3.{minor}") for minor in range(10, 15)] + siblings
    for found in candidates:
        if found is None:
            continue
        probe = [str(found), "-c", "import sys; print(sys.version_info[1])"]
        result = subprocess.run(probe, capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip() != str(sys.version_info[1]):
            return str(found)
    return None


def test_another_python_version_changes_the_key(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    other = other_python()
    if other is None:
        pytest.skip("needs a second Python version")
    before = save_record(fastci, project, tmp_path / "before.json")
    result = fastci("deps", "key", "--root", project, "--python", other, "--diff", before)
    assert "changed: python" in result.out
    assert "changed: requirements" not in result.out


def test_a_lock_file_counts_but_its_comments_and_layout_do_not(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    lock = write(
        project / "uv.lock",
        """
        version = 1
        [[package]]
        name = "six"
        version = "1.17.0"
        """,
    )
    before = save_record(fastci, project, tmp_path / "before.json")
    edit(lock, "version = 1\n", "# generated\nversion    =   1\n\n")
    assert key_of(fastci, project) == json.loads(before.read_text())["key"]
    edit(lock, '"1.17.0"', '"1.16.0"')
    assert "changed: lock:uv.lock" in changed_inputs(fastci, project, before)


def test_only_the_configured_extras_and_groups_count(fastci: RunFastci, project: Path) -> None:
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[tool.fastci.deps]\nextras = []\ngroups = ["test"]\n')
    before = key_of(fastci, project)
    edit(project / "pyproject.toml", '"sphinx"', '"sphinx<8"')
    assert key_of(fastci, project) == before
    edit(project / "pyproject.toml", '"ruff"', '"ruff<1"')  # lint is included by test
    assert key_of(fastci, project) != before


def test_the_requirement_file_patterns_are_configurable(fastci: RunFastci, project: Path) -> None:
    write(project / "ci" / "pins.txt", "attrs==24.2.0\n")
    before = key_of(fastci, project)
    assert key_of(fastci, project, "--requirements", "ci/*.txt") != before
    explained = fastci("deps", "key", "--root", project, "--requirements", "ci/*.txt", "--explain")
    assert "requirements:ci/pins.txt" in explained.out
    assert "requirements:requirements.txt" not in explained.out


def test_an_unparsable_line_names_the_file_and_line(fastci: RunFastci, project: Path) -> None:
    edit(project / "requirements-dev.txt", "pytest>=8", "pytest>=8\n\nflask=>2\n")
    result = fastci("deps", "key", "--root", project)
    assert result.code == ExitCode.USAGE_ERROR
    assert result.err.startswith("fastci: error: requirements-dev.txt:3: not a valid requirement")
    assert "'flask=>2'" in result.err
    assert len(result.err.splitlines()) == 1


def test_an_unknown_option_is_a_usage_error(fastci: RunFastci, project: Path) -> None:
    edit(project / "requirements.txt", "# web", "--no-such-option")
    result = fastci("deps", "key", "--root", project)
    assert result.code == ExitCode.USAGE_ERROR
    assert "requirements.txt:1: unknown option '--no-such-option'" in result.err


def test_a_missing_included_file_is_a_usage_error(fastci: RunFastci, project: Path) -> None:
    (project / "requirements-dev.txt").unlink()
    result = fastci("deps", "key", "--root", project)
    assert result.code == ExitCode.USAGE_ERROR
    assert "requirements.txt:4: included file requirements-dev.txt does not exist" in result.err


def test_an_unknown_extra_is_a_usage_error(fastci: RunFastci, project: Path) -> None:
    result = fastci("deps", "key", "--root", project, "--extras", "nope")
    assert result.code == ExitCode.USAGE_ERROR
    assert "no optional-dependencies extra 'nope'" in result.err
    assert "known: all, docs" in result.err


def test_diff_against_an_unknown_key_says_what_it_accepts(fastci: RunFastci, project: Path) -> None:
    result = fastci("deps", "key", "--root", project, "--diff", "fastci-deps-v1-nothing")
    assert result.code == ExitCode.USAGE_ERROR
    assert "no manifest found for 'fastci-deps-v1-nothing'" in result.err


def test_the_order_of_hashes_does_not_count_but_a_hash_does(
    fastci: RunFastci, project: Path
) -> None:
    edit(
        project / "requirements.txt",
        "requests==2.32.3",
        "requests==2.32.3 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb",
    )
    before = key_of(fastci, project)
    edit(project / "requirements.txt", "sha256:aaaa", "sha256:cccc")
    changed = key_of(fastci, project)
    assert changed != before
    edit(project / "requirements.txt", "--hash=sha256:cccc", "--hash sha256:zzzz")
    edit(project / "requirements.txt", "--hash=sha256:bbbb", "--hash=sha256:cccc")
    edit(project / "requirements.txt", "sha256:zzzz", "sha256:bbbb")
    assert key_of(fastci, project) == changed  # the same two hashes, in the other order
