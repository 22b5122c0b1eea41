"""fastci deps install installs exactly the checked wheels the manifest lists, or refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fastci.errors import ExitCode
from tests.helpers.deps import (
    RunFastci,
    imports,
    make_project,
    make_venv,
    make_wheel,
    manifest,
    uv,
    wheelhouse,
    write,
)

PYTHON = sys.executable
TAMPERED = "TAMPERED = True\n"


def tampered(python: Path) -> bool:
    """Whether the six that ``python`` imports is the stand-in these tests build."""
    result = subprocess.run(
        [python, "-c", "import six; print(getattr(six, 'TAMPERED', False))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "True"


def replace_listed_wheel(root: Path, name: str) -> None:
    """Swap a listed wheel for a stand-in of the same name and version and rewrite its
    manifest entry to match, as someone who can write the cache could."""
    directory = wheelhouse(root)
    data = manifest(root)
    (entry,) = [p for p in data["packages"] if p["name"] == name]
    listed = directory / entry["file"]
    tags = entry["file"].removesuffix(".whl").split("-", 2)[2]
    stand_in = make_wheel(directory.parent / "elsewhere", name, entry["version"], tags=tags,
                          code=TAMPERED)  # fmt: skip
    shutil.move(stand_in, listed)
    data["packages"] = [
        {**p, "sha256": _sha256(listed), "size": listed.stat().st_size} if p is entry else p
        for p in data["packages"]
    ]
    (directory / "manifest.json").write_text(json.dumps(data))
    shutil.rmtree(directory.parent / "elsewhere")


def swapped_after_a_hashed_build(
    fastci: RunFastci, built: Path, tmp_path: Path
) -> tuple[Path, dict[str, Any]]:
    """A project whose requirements hash six, built, then its six swapped; and the real six."""
    (six,) = [p for p in manifest(built)["packages"] if p["name"] == "six"]
    root = make_project(tmp_path / "app", f"six==1.17.0 --hash=sha256:{six['sha256']}\n")
    assert fastci("deps", "build", "--root", root, "--python", PYTHON).code == ExitCode.OK
    replace_listed_wheel(root, "six")
    return root, six


def _sha256(path: Path) -> str:
    from fastci.deps.verify import sha256_of

    return sha256_of(path)


def test_a_wheel_with_a_higher_build_tag_dropped_into_the_wheelhouse_is_never_installed(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    directory = wheelhouse(project)
    dropped = make_wheel(directory, "six", "1.17.0", tags="1-py2.py3-none-any", code=TAMPERED)
    # What fastci must not do: an installer choosing among the directory's files takes it.
    chooser = make_venv(tmp_path / "chooser")
    subprocess.run(
        [uv(), "pip", "install", "--quiet", "--python", chooser, "--offline", "--no-index",
         "--no-deps", "--find-links", directory, "six==1.17.0"],
        check=True,
    )  # fmt: skip
    assert tampered(chooser)
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", project, "--python", python, "--allow-index")
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert result.err.splitlines() == [
        f"fastci: error: wheelhouse {directory} holds files its manifest does not list "
        f"({dropped.name}): it was changed after it was built; delete it and run "
        "'fastci deps build'"
    ]
    assert not imports(python, "six")


def test_build_replaces_a_wheelhouse_holding_files_it_did_not_put_there(
    fastci: RunFastci, project: Path
) -> None:
    dropped = make_wheel(wheelhouse(project), "six", "1.17.0", tags="1-py2.py3-none-any")
    result = fastci("deps", "build", "--root", project, "--python", PYTHON)
    assert result.code == ExitCode.OK, result.err
    assert "built wheelhouse" in result.out
    assert not dropped.exists()


def test_a_listed_wheel_swapped_with_its_manifest_entry_is_refused_when_requirements_hash_it(
    fastci: RunFastci, built: Path, tmp_path: Path
) -> None:
    root, _ = swapped_after_a_hashed_build(fastci, built, tmp_path)
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", root, "--python", python)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert result.err.startswith(
        "fastci: error: wheel matches none of the hashes your requirement or lock files give "
        "for six==1.17.0"
    )
    assert not imports(python, "six")
    # With the index allowed, the published six comes from it, checked against the hash.
    result = fastci("deps", "install", "--root", root, "--python", python, "--allow-index")
    assert result.code == ExitCode.OK, result.err
    assert imports(python, "six")
    assert not tampered(python)


def test_a_listed_wheel_swapped_with_its_manifest_entry_is_refused_when_uv_lock_hashes_it(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = tmp_path / "app"
    write(
        root / "pyproject.toml",
        """
        [project]
        name = "locked"
        version = "1"
        requires-python = ">=3.10"
        dependencies = ["six==1.17.0"]
        """,
    )
    subprocess.run([uv(), "lock", "--quiet"], cwd=root, check=True)
    assert fastci("deps", "build", "--root", root, "--python", PYTHON).code == ExitCode.OK
    replace_listed_wheel(root, "six")
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", root, "--python", python)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "none of the hashes your requirement or lock files give for six==1.17.0" in result.err
    assert not imports(python, "six")


def test_build_does_not_reuse_a_swapped_wheel_the_requirements_hash(
    fastci: RunFastci, built: Path, tmp_path: Path
) -> None:
    root, six = swapped_after_a_hashed_build(fastci, built, tmp_path)
    result = fastci("deps", "build", "--root", root, "--python", PYTHON)
    assert result.code == ExitCode.OK, result.err
    (rebuilt,) = [p for p in manifest(root)["packages"] if p["name"] == "six"]
    assert rebuilt["sha256"] == six["sha256"]
    python = make_venv(tmp_path / "venv")
    assert fastci("deps", "install", "--root", root, "--python", python).code == ExitCode.OK
    assert not tampered(python)


@pytest.mark.parametrize("pin", ["six===1.17.0", "six==1.17"])
def test_a_pin_spelled_otherwise_keeps_its_hash_checked(
    fastci: RunFastci, tmp_path: Path, pin: str
) -> None:
    root = make_project(tmp_path / "app", f"{pin} --hash=sha256:{'0' * 64}\n")
    result = fastci("deps", "build", "--root", root, "--python", PYTHON)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "does not match the --hash your requirement files give it" in result.err
