"""fastci's watchdog beside pytest-timeout: pytest-timeout acts first, fastci's is the backstop."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.plugin.watchdog import BACKSTOP_SECONDS
from fastci.results.bundle import read_results
from tests.helpers.projects import Project

pytest.importorskip("pytest_timeout")


def test_pytest_timeout_fails_a_marked_test_first_and_fastci_stops_one_it_cannot(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "tests/test_marked.py",
        """
        import signal
        import time

        import pytest


        @pytest.mark.timeout(1)
        def test_pytest_timeout_stops_it():
            time.sleep(3600)


        @pytest.mark.timeout(1)
        def test_deaf_to_pytest_timeout():
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
            time.sleep(3600)


        def test_after():
            pass
        """,
    )
    proc = project.fastci(
        "run", "-j", "1", "--timeout", "600", "--results", str(tmp_path), "-p", "pytest_timeout"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = {
        r.id.split("::")[1]: r for r in read_results(tmp_path / "fastci-local" / "results.jsonl")
    }
    first = results["test_pytest_timeout_stops_it"]
    assert first.outcome == "failed"
    assert "Timeout (>1.0s) from pytest-timeout" in (first.longrepr or "")
    deaf = results["test_deaf_to_pytest_timeout"]
    assert deaf.outcome == "failed"
    assert (deaf.longrepr or "").startswith("Timeout: test exceeded 1 s\n")
    assert deaf.stop - deaf.start >= 1 + BACKSTOP_SECONDS - 0.5  # pytest-timeout had its turn
    assert results["test_after"].outcome == "passed"
