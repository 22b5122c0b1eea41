"""How fastci starts pytest processes: the arguments and environment its plugin answers to.

The one pytest-free module of ``fastci.plugin``: the coordinator, inventory and coverage
combine import it to speak to the pytest side without loading pytest themselves.
"""

from __future__ import annotations

import importlib.util
import os

from fastci.errors import FastciError

# Set by fastci for the pytest processes it starts; plain pytest runs never see it.
ACTIVE_VARIABLE = "FASTCI_ACTIVE"
# Where a worker writes its coverage data files, when the user's options ask for coverage.
COVERAGE_VARIABLE = "FASTCI_COVERAGE_DATA"
# A worker's default per-test time limit in seconds (a test's timeout marker overrides it).
TIMEOUT_VARIABLE = "FASTCI_TIMEOUT"
# The file a worker's watchdog dumps every thread's stack into when a test runs too long: a
# fixed-width header holding the running test's limit, then faulthandler's output.
STACKS_VARIABLE = "FASTCI_STACKS_FILE"
STACKS_HEADER_BYTES = 32
# The directory a worker writes each test's recorded dependencies into (fastci affected).
DEPS_VARIABLE = "FASTCI_DEPS_DIR"
# The project root those recorded paths are relative to.
DEPS_ROOT_VARIABLE = "FASTCI_DEPS_ROOT"
# The pseudo-path of a test that started a process: what that process ran and read is not
# seen, so any change anywhere in the project selects the test.
SPAWNED = "<started a process>"


class PytestError(FastciError):
    """pytest itself failed (bad arguments, a conftest that does not import, collection errors)."""


def neutralizing_args() -> list[str]:
    """Arguments that stop the user's addopts from fanning out or measuring inside our processes."""
    args = []
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    if autoload and importlib.util.find_spec("xdist") is not None:
        args += ["-n", "0"]  # pytest-xdist: fastci does the distributing
    if autoload and importlib.util.find_spec("pytest_cov") is not None:
        args += ["--no-cov"]  # pytest-cov: fastci measures coverage itself when asked
    return args


def pytest_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every pytest process fastci starts."""
    return {**os.environ, ACTIVE_VARIABLE: "1", **(extra or {})}


def plugin_args() -> list[str]:
    # The entry point is named after the module, so -p finds it registered when autoload is on.
    return ["-p", "fastci.plugin"]
