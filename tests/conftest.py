"""Shared fixtures: real pytest projects in temporary directories, and fastci run as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

# Variables from the developer's shell or CI that would change how fastci or pytest behave.
LEAKY_VARIABLES = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "FASTCI_RUN_ID",
    "FASTCI_DEBUG",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_RUN_ID",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "CI_PIPELINE_ID",
    "CIRCLE_NODE_INDEX",
    "CIRCLE_NODE_TOTAL",
    "BUILDKITE_PARALLEL_JOB",
    "BUILDKITE_PARALLEL_JOB_COUNT",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No CI variables, a private HOME, and no third-party pytest plugins in child pytests.

    Plugin autoloading is off because this environment's dev tools (hypothesis, xdist) add
    seconds to every pytest start; fastci loads its own plugin explicitly either way, and the
    tests that are about autoloading turn it back on.
    """
    for name in LEAKY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("NO_COLOR", "1")


class Project:
    """A throwaway pytest project: write files, run fastci in it as a real process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def fastci(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fastci", *args],
            cwd=self.root,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def fastci_json(self, *args: str) -> dict[str, object]:
        proc = self.fastci(*args, "--json")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        data: dict[str, object] = json.loads(proc.stdout)
        return data

    def collected_ids(self, *pytest_args: str) -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", *pytest_args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        return {line for line in proc.stdout.splitlines() if "::" in line}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    proj = Project(root)
    proj.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        """,
    )
    return proj


def write_sample_suite(project: Project) -> None:
    """Five test files, classes, parametrization and a group: 23 tests in all."""
    project.write("tests/__init__.py", "")
    project.write(
        "tests/test_alpha.py",
        """
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_square(n):
            assert n * n >= 0

        class TestWords:
            def test_upper(self):
                assert "a".upper() == "A"

            def test_lower(self):
                assert "A".lower() == "a"
        """,
    )
    project.write(
        "tests/test_beta.py",
        """
        import pytest

        class TestOne:
            def test_a(self): pass
            def test_b(self): pass

        class TestTwo:
            def test_c(self): pass

        @pytest.mark.fastci_group("db")
        def test_grouped_here(): pass
        """,
    )
    project.write(
        "tests/sub/test_gamma.py",
        """
        import pytest

        @pytest.mark.fastci_group("db")
        def test_grouped_there(): pass

        @pytest.mark.slow
        def test_marked(): pass

        def test_plain(): pass
        """,
    )
    project.write(
        "tests/sub/test_delta.py",
        """
        def test_d1(): pass
        def test_d2(): pass
        def test_d3(): pass
        """,
    )
    project.write(
        "tests/test_epsilon.py",
        """
        import pytest

        @pytest.mark.parametrize("word", ["x", "y", "z", "w", "v"])
        def test_word(word):
            assert len(word) == 1
        """,
    )
    project.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        markers = ["slow: slow", "fastci_group(name): group"]
        """,
    )


SAMPLE_TEST_COUNT = 23
