"""Discovery inside the first worker: one pytest start less, and every conftest fixture kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fastci.plan.inventory import discover_files, read_discovery
from fastci.plugin.launch import plugin_args, pytest_env
from tests.helpers.projects import Project

STARTS = "starts.txt"


def _write_nested_fixtures(project: Project) -> None:
    """Fixtures in the rootdir's, a directory's and a package's conftest, each used below it;
    every pytest process that loads the top conftest notes itself."""
    project.write("pytest.ini", "[pytest]\ntestpaths = tests\n")
    project.write(
        "tests/conftest.py",
        f"""
        import os, pytest

        with open({str(project.root / STARTS)!r}, "a") as f:
            f.write(f"{{os.getpid()}}\\n")

        @pytest.fixture
        def top():
            return 1
        """,
    )
    fixture = "import pytest\n\n@pytest.fixture\ndef {}(): return {}\n"
    project.write("tests/a/conftest.py", fixture.format("near", 2))
    project.write("tests/a/test_near.py", "def test_near(top, near): assert top + near == 3\n")
    project.write("tests/pkg/__init__.py", "")
    project.write("tests/pkg/conftest.py", fixture.format("deep", 3))
    project.write("tests/pkg/test_deep.py", "def test_deep(top, deep): assert top + deep == 4\n")
    project.write("tests/test_top.py", "def test_top(top): assert top == 1\n")
    project.write("tests/check_named.py", "def test_named(top): assert top == 1\n")


def test_a_run_starts_no_pytest_of_its_own_to_discover(project: Project) -> None:
    _write_nested_fixtures(project)
    proc = project.fastci("run", "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
    # The one worker discovered the files and ran the tests: one process loaded the conftest.
    assert len(set((project.root / STARTS).read_text().split())) == 1


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("tests/a",),
        ("tests/pkg/test_deep.py", "tests/a"),
        ("tests/test_top.py", "tests/pkg"),
        ("tests/check_named.py", "tests/a/test_near.py"),  # named: outside python_files
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        ("-j", "1"),
        ("-j", "2"),
        ("-j", "1", "--granularity", "test"),  # discovered by a collection: no worker does
    ],
)
def test_every_conftest_fixture_reaches_its_tests(
    project: Project, args: tuple[str, ...], options: tuple[str, ...]
) -> None:
    _write_nested_fixtures(project)
    proc = project.fastci("run", *options, *args)
    expected = len(project.collected_ids(*args))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{expected} passed" in proc.stdout


def test_a_worker_lists_the_files_a_discovery_process_lists(project: Project) -> None:
    _write_nested_fixtures(project)
    project.write(
        "tests/skipped/conftest.py",
        "import pytest\npytest.skip('not here', allow_module_level=True)\n",
    )
    project.write("tests/skipped/test_never.py", "def test_never(): pass\n")
    out = project.root / "worker.json"
    to_read, to_write = os.pipe()
    from_read, from_write = os.pipe()
    os.close(to_write)  # the worker reads the end at once: it discovers, then ends
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", *plugin_args(), "-q",
            f"--fastci-worker={to_read},{from_write}", f"--fastci-discover={out}",
        ],
        cwd=project.root, env=pytest_env(), pass_fds=(to_read, from_write),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    for fd in (to_read, from_write, from_read):
        os.close(fd)
    assert out.is_file(), proc.stdout + proc.stderr
    assert read_discovery(out) == discover_files(project.root)
