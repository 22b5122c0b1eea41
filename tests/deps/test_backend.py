"""uv and pip come with fastci[deps]: without them fastci deps says so in one line, exit 8."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fastci.errors import ExitCode
from tests.helpers.deps import imports, make_project, make_venv, uv

REPOSITORY = Path(__file__).resolve().parents[2]
MISSING = "fastci: error: fastci deps needs uv (or pip): pip install 'fastci[deps]'"


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with fastci and its core dependencies but not the deps extra: no uv, no
    pip (uv makes virtualenvs without pip)."""
    python = make_venv(tmp_path_factory.mktemp("bare") / "venv")
    subprocess.run(
        [uv(), "pip", "install", "--quiet", "--python", python, "--editable", REPOSITORY],
        check=True,
    )
    assert not imports(python, "uv")
    assert not imports(python, "pip")
    return python


def fastci_in(python: Path, *args: str | Path, path: str = "") -> subprocess.CompletedProcess[str]:
    """fastci run by ``python``, with PATH holding only its own bin directory and ``path``."""
    search = os.pathsep.join(p for p in (str(python.parent), path, "/usr/bin", "/bin") if p)
    return subprocess.run(
        [python, "-m", "fastci", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": search},
        check=False,
    )


def test_build_without_the_deps_extra_says_how_to_get_it_in_one_line(
    bare: Path, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app")
    result = fastci_in(bare, "deps", "build", "--root", root)
    assert result.returncode == ExitCode.DEPENDENCIES_FAILED
    assert result.stderr.splitlines() == [MISSING]
    assert not (root / ".cache" / "wheels").exists()


def test_install_without_the_deps_extra_says_how_to_get_it_in_one_line(
    bare: Path, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app")
    result = fastci_in(bare, "deps", "install", "--root", root, "--allow-index")
    assert result.returncode == ExitCode.DEPENDENCIES_FAILED
    assert result.stderr.splitlines() == [MISSING]


def test_the_key_needs_neither_uv_nor_pip(bare: Path, tmp_path: Path) -> None:
    result = fastci_in(bare, "deps", "key", "--root", make_project(tmp_path / "app"))
    assert result.returncode == ExitCode.OK, result.stderr
    assert result.stdout.startswith("fastci-deps-v1-")


def test_uv_on_path_is_enough_to_install(bare: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "app", "six==1.17.0\n")
    target = make_venv(tmp_path / "target")
    on_path = str(Path(uv()).parent)
    result = fastci_in(
        bare, "deps", "install", "--root", root, "--python", target, "--allow-index", path=on_path
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert imports(target, "six")


def test_build_with_uv_but_no_pip_says_pip_is_needed(bare: Path, tmp_path: Path) -> None:
    on_path = str(Path(uv()).parent)
    result = fastci_in(
        bare, "deps", "build", "--root", make_project(tmp_path / "app"), path=on_path
    )
    assert result.returncode == ExitCode.DEPENDENCIES_FAILED
    assert result.stderr.splitlines() == [
        "fastci: error: fastci deps build needs pip to download and build wheels (uv cannot): "
        "pip install 'fastci[deps]'"
    ]


def test_pip_in_the_target_environment_is_enough_to_build(bare: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "app", "six==1.17.0\n")
    target = make_venv(tmp_path / "target", with_pip=True)
    result = fastci_in(bare, "deps", "build", "--root", root, "--python", target)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "built wheelhouse" in result.stdout
