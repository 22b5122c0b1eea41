"""Shared fixtures: an isolated environment, throwaway projects, and sharded runs to merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.git import no_ci  # noqa: F401 - a fixture for every test module
from tests.helpers.projects import Project
from tests.helpers.shop import ShardedRun, run_shard, write_project

# Variables from the developer's shell or CI that would change how fastci or pytest behave.
LEAKY_VARIABLES = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "FASTCI_RUN_ID",
    "FASTCI_QUEUE_URL",
    "FASTCI_QUEUE_JOB",
    "FASTCI_QUEUE_LEASE",
    "FASTCI_QUEUE_MAX_REQUEUES",
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
    "PYTEST_XDIST_TESTRUNUID",
    # Set by fastci in its workers, so also when fastci runs this very suite.
    "FASTCI_ACTIVE",
    "FASTCI_COVERAGE_DATA",
    "FASTCI_WORKER_ID",
    "FASTCI_TIMEOUT",
    "FASTCI_STACKS_FILE",
    "FASTCI_DEPS_DIR",
    "FASTCI_DEPS_ROOT",
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


@pytest.fixture(scope="session")
def three_shards(tmp_path_factory: pytest.TempPathFactory) -> ShardedRun:
    """The passing suite run as 3 shards with coverage, all from one checkout."""
    root = write_project(tmp_path_factory.mktemp("checkout"))
    results = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASTCI_RUN_ID", "three-shards")
        codes = tuple(run_shard(root, results, f"{k}/3") for k in (1, 2, 3))
    return ShardedRun(root, results, 3, codes)


@pytest.fixture(scope="session")
def one_run(tmp_path_factory: pytest.TempPathFactory) -> ShardedRun:
    """The same passing suite run unsharded with coverage: the reference for the merge."""
    root = write_project(tmp_path_factory.mktemp("checkout"))
    results = tmp_path_factory.mktemp("results")
    code = run_shard(root, results, None)
    return ShardedRun(root, results, 1, (code,))


@pytest.fixture(scope="session")
def broken_shards(tmp_path_factory: pytest.TempPathFactory) -> ShardedRun:
    """A suite with one failing test run as 2 shards, each from its own checkout directory.

    ``root`` is a third checkout: the machine that merges. The failing test imports nothing
    from the package, so the package's covered lines are those of the passing suite.
    """
    results = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FASTCI_RUN_ID", "broken")
        codes = tuple(
            run_shard(write_project(tmp_path_factory.mktemp(f"runner{k}"), True), results, f"{k}/2")
            for k in (1, 2)
        )
    merger = write_project(tmp_path_factory.mktemp("merger"), broken=True)
    return ShardedRun(merger, results, 2, codes)
