"""Collection errors found by reading the test files, never importing them."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from fastci.plan.collection_errors import _compiled_before, early_collection_errors, module_name
from fastci.plan.inventory import TestFile
from tests.helpers.projects import Project


def _files(*paths: str) -> list[TestFile]:
    return [TestFile(path, 0) for path in paths]


def test_a_files_module_name_is_qualified_by_the_packages_around_it(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("tests/pkg/__init__.py", "")
    plain = project.write("tests/test_a.py", "")
    packaged = project.write("tests/pkg/test_a.py", "")
    assert (module_name(plain), module_name(packaged)) == ("test_a", "pkg.test_a")


def test_a_second_file_with_one_module_name_is_pytests_import_file_mismatch(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path)
    for where in ("a", "b"):
        project.write(f"tests/{where}/test_dup.py", "def test(): pass\n")
    files = _files("tests/a/test_dup.py", "tests/b/test_dup.py")
    for mode in ("prepend", "append"):
        [(nodeid, text)] = early_collection_errors(tmp_path, files, mode)
        assert nodeid == "tests/b/test_dup.py"
        assert text.startswith("import file mismatch:\nimported module 'test_dup'")
    assert early_collection_errors(tmp_path, files, "importlib") == []


def test_files_in_different_packages_do_not_collide(tmp_path: Path) -> None:
    project = Project(tmp_path)
    for where in ("a", "b"):
        project.write(f"tests/{where}/__init__.py", "")
        project.write(f"tests/{where}/test_dup.py", "def test(): pass\n")
    files = _files("tests/a/test_dup.py", "tests/b/test_dup.py")
    assert early_collection_errors(tmp_path, files, "prepend") == []


def test_a_syntax_error_is_found_with_pythons_own_message(tmp_path: Path) -> None:
    Project(tmp_path).write("tests/test_broken.py", "def test(:\n    pass\n")
    [(nodeid, text)] = early_collection_errors(tmp_path, _files("tests/test_broken.py"), "prepend")
    assert nodeid == "tests/test_broken.py"
    assert text.splitlines()[-1].startswith("E   SyntaxError:")


def test_a_file_whose_bytecode_cache_matches_is_trusted_as_python_would_trust_it(
    tmp_path: Path,
) -> None:
    path = Project(tmp_path).write("tests/test_cached.py", "x = 1\n")
    py_compile.compile(str(path), doraise=True)
    stat = path.stat()
    path.write_text("x = (\n")  # same size, and the same time below: Python imports the cache
    os.utime(path, (stat.st_atime, stat.st_mtime))
    assert early_collection_errors(tmp_path, _files("tests/test_cached.py"), "prepend") == []
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # now the cache is stale
    assert len(early_collection_errors(tmp_path, _files("tests/test_cached.py"), "prepend")) == 1


def test_the_cache_pytest_writes_for_a_rewritten_test_module_counts(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("pyproject.toml", "[tool.pytest.ini_options]\n")
    path = project.write("tests/test_ok.py", "def test_ok():\n    assert True\n")
    writes_bytecode = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=writes_bytecode, check=True,
    )  # fmt: skip
    assert [p.name for p in (path.parent / "__pycache__").iterdir()] == [
        f"test_ok.{sys.implementation.cache_tag}-pytest-{pytest.__version__}.pyc"
    ]
    assert _compiled_before(path, path.read_bytes(), path.stat().st_mtime)
