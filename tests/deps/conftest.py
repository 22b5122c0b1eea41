"""Fixtures for fastci deps: isolated caches, fastci run in-process."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastci.errors import ExitCode
from tests.helpers.cli import Result, fastci_code
from tests.helpers.cli import fastci as run_fastci
from tests.helpers.deps import RunFastci, make_project


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """uv's and pip's caches in a temporary directory, never the developer's."""
    caches = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(caches / "uv"))
        patch.setenv("PIP_CACHE_DIR", str(caches / "pip"))
        patch.delenv("VIRTUAL_ENV", raising=False)
        yield


@pytest.fixture
def fastci(capsys: pytest.CaptureFixture[str]) -> RunFastci:
    """Run fastci in this process: fastci("deps", "key", "--root", ...) -> Result."""

    def run(*args: str | Path) -> Result:
        return run_fastci(capsys, *args)

    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project whose wheelhouse is built once, from the index, for the whole module.

    Tests that change it work on a copy (see ``project``).
    """
    root = make_project(tmp_path_factory.mktemp("built") / "app")
    assert fastci_code("deps", "build", "--root", root, "--python", sys.executable) == ExitCode.OK
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A copy of the built project, wheelhouse included, in a new place."""
    return Path(shutil.copytree(built, tmp_path / "app"))
