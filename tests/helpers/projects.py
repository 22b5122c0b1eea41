"""Throwaway pytest projects for tests: write files, run fastci in them as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastci.results.timings import ReportWriter, RunHeader, TestRecord
from tests.helpers.cli import fastci_process


class Project:
    """A throwaway pytest project: write files, run fastci in it as a real process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def fastci(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return fastci_process(self.root, *args, env=env, timeout=timeout)

    def fastci_json(self, *args: str) -> dict[str, Any]:
        proc = self.fastci(*args, "--json")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    def collected_ids(self, *pytest_args: str) -> set[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", *pytest_args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        return {line for line in proc.stdout.splitlines() if "::" in line}


def write_sample_suite(project: Project) -> None:
    """Five test files, classes, parametrization and a group: 23 tests in all."""
    project.write("tests/__init__.py", "")
    project.write(
        "tests/test_alpha.py",
        """
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_square(n):
            assert n * n >= 0

        class TestWords:
            def test_upper(self):
                assert "a".upper() == "A"

            def test_lower(self):
                assert "A".lower() == "a"
        """,
    )
    project.write(
        "tests/test_beta.py",
        """
        import pytest

        class TestOne:
            def test_a(self): pass
            def test_b(self): pass

        class TestTwo:
            def test_c(self): pass

        @pytest.mark.fastci_group("db")
        def test_grouped_here(): pass
        """,
    )
    project.write(
        "tests/sub/test_gamma.py",
        """
        import pytest

        @pytest.mark.fastci_group("db")
        def test_grouped_there(): pass

        @pytest.mark.slow
        def test_marked(): pass

        def test_plain(): pass
        """,
    )
    project.write(
        "tests/sub/test_delta.py",
        """
        def test_d1(): pass
        def test_d2(): pass
        def test_d3(): pass
        """,
    )
    project.write(
        "tests/test_epsilon.py",
        """
        import pytest

        @pytest.mark.parametrize("word", ["x", "y", "z", "w", "v"])
        def test_word(word):
            assert len(word) == 1
        """,
    )
    project.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        markers = ["slow: slow", "fastci_group(name): group"]
        """,
    )


SAMPLE_TEST_COUNT = 23


def write_report(path: Path, durations: dict[str, float]) -> None:
    writer = ReportWriter(
        path, RunHeader(report_id="rep1", run_id="run1", started=1.0, complete=True)
    )
    for test_id, seconds in durations.items():
        writer.test(TestRecord(test_id, test_id.split("::")[0], 0.0, seconds, 0.0, "passed"))
    writer.end(complete=True)
    writer.close()


HEAVY_SECONDS = 0.4


def write_shared_import_suite(project: Project, files: int = 2, light: int = 0) -> None:
    """``files`` test files importing ``heavylib`` (it sleeps at import), ``light`` that do not."""
    project.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    project.write("heavylib/__init__.py", f"import time\ntime.sleep({HEAVY_SECONDS})\n")
    for n in range(files):
        project.write(f"tests/test_heavy{n}.py", "import heavylib\n\ndef test_one(): pass\n")
    for n in range(light):
        project.write(f"tests/test_light{n}.py", "import time\n\ndef test_one(): time.sleep(0.3)\n")
