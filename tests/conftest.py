"""Shared fixtures: an isolated environment and a throwaway pytest project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.projects import Project

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
