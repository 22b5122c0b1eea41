"""Fixtures for fastci deps: isolated caches, fastci run in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fastci.cli import main
from tests.deps.projects import Result, RunFastci


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
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
