"""Builders for the deps tests: small real projects, virtualenvs, a broken sdist."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path
from typing import Any, Protocol

from fastci.deps.backend import find_uv
from tests.helpers.cli import Result

# Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


class RunFastci(Protocol):
    def __call__(self, *args: str | Path) -> Result: ...


def uv() -> str:
    found = find_uv()
    assert found is not None, "uv comes with fastci"
    return found


def make_venv(path: Path, with_pip: bool = False) -> Path:
    """A new virtualenv at ``path``; returns its Python."""
    command = [uv(), "venv", "--quiet", "--python", sys.executable, str(path)]
    subprocess.run([*command, *(["--seed"] if with_pip else [])], check=True)
    return path / "bin" / "python"


def imports(python: Path, *modules: str) -> bool:
    result = subprocess.run(
        [str(python), "-c", f"import {', '.join(modules)}"], capture_output=True, check=False
    )
    return result.returncode == 0


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def make_project(root: Path, requirements: str = "six==1.17.0\niniconfig==2.1.0\n") -> Path:
    """A small installable project: src layout, setuptools, a requirements.txt."""
    write(root / "requirements.txt", requirements)
    write(
        root / "pyproject.toml",
        """
        [project]
        name = "tinyapp"
        version = "0.1"

        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"
        """,
    )
    write(root / "src" / "tinyapp" / "__init__.py", "GREETING = 'hello'\n")
    return root


BROKEN_BACKEND = """
import os

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, "broken-1.0.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\\nName: broken\\nVersion: 1.0\\n")
    return "broken-1.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    print("compiling broken/_speedups.c")
    raise SystemExit("error: the C compiler exploded on broken/_speedups.c")
"""


def make_broken_sdist(directory: Path) -> Path:
    """An sdist whose metadata is fine but whose wheel build always fails."""
    source = directory / "broken-1.0"
    write(
        source / "pyproject.toml",
        """
        [build-system]
        requires = []
        build-backend = "backend"
        backend-path = ["."]
        """,
    )
    write(source / "backend.py", BROKEN_BACKEND)
    write(source / "PKG-INFO", "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    archive = directory / "broken-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="broken-1.0")
    shutil.rmtree(source)
    return archive


def make_wheel(
    directory: Path, name: str, version: str, *, tags: str = "py3-none-any", code: str = ""
) -> Path:
    """A minimal pure-Python wheel, written by hand: a package on no index, or a stand-in
    for a real one (same name and version; ``tags`` may start with a build tag; other
    ``code`` in its module)."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-{tags}.whl"
    info = f"{name}-{version}.dist-info"
    tag = "-".join(tags.split("-")[-3:])
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n{code}",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        archive.writestr(f"{info}/RECORD", "".join(f"{p},,\n" for p in [*files, f"{info}/RECORD"]))
    return wheel


def wheelhouse(root: Path) -> Path:
    """The one wheelhouse a project's build left."""
    (directory,) = [d for d in (root / ".cache" / "wheels").iterdir() if d.is_dir()]
    return directory


def manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((wheelhouse(root) / "manifest.json").read_text())
    return data
