"""fastci's terminal report against real pytest's on one project: -v lines, the short
summary, --durations, the final line."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LEAKY_VARIABLES
from tests.helpers.fidelity import Seen, by_fastci, by_pytest, differential, write_project

FILES = {
    "conftest.py": """
        def pytest_report_header(config):
            return ["shop: test database on sqlite"]
    """,
    "test_mix.py": """
        import time
        import pytest

        def test_ok():
            time.sleep(0.02)

        def test_fail():
            assert 1 == 2

        @pytest.mark.xfail(reason="known bug")
        def test_xfail():
            assert 0

        @pytest.mark.xfail(reason="fixed already")
        def test_xpass():
            pass

        @pytest.mark.skip(reason="not here")
        def test_skip():
            pass

        @pytest.fixture
        def broken():
            raise ValueError("no database")

        def test_error(broken):
            pass

        @pytest.fixture
        def leaky():
            yield
            raise RuntimeError("left open")

        def test_teardown(leaky):
            pass
    """,
    "test_more.py": """
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_param(n):
            assert n

        class TestThing:
            def test_method(self):
                raise KeyError("missing")

        @pytest.mark.parametrize("host", ["a", "b"])
        def test_online(host):
            pytest.skip("no network")
    """,
}
_RULE = re.compile(r"^=+ (?P<title>.*?) =+$")
_PROGRESS = re.compile(r"\s+\[\s*\d+%\]$")


def section(output: str, title: str) -> list[str]:
    """The lines of the last section under pytest's ``=== title ===`` rule (a merge's, after
    its shards'), up to the next rule."""
    lines: list[str] = []
    inside = False
    for line in output.splitlines():
        match = _RULE.match(line)
        if match:
            inside = match.group("title") == title
            lines = [] if inside else lines
            continue
        if inside:
            lines.append(line)
    return lines


def verbose_lines(seen: Seen) -> set[str]:
    """Every ``id WORD (reason)`` line of -v, its progress percentage dropped."""
    return {
        _PROGRESS.sub("", line).rstrip()
        for line in seen.output.splitlines()
        if "::" in line and line.split(" ", 1)[0].count("::") and not _RULE.match(line)
        if line.split(" ")[1:2] and line.split(" ")[1].isupper()
    }


def both(tmp_path: Path, *args: str) -> tuple[Seen, Seen]:
    return (
        by_pytest(write_project(tmp_path / "pytest", FILES), *args),
        by_fastci(write_project(tmp_path / "fastci", FILES), *args),
    )


def header(root: Path, *argv: str) -> list[str]:
    """The session header a command prints in ``root``, with plugins autoloaded as a user's
    pytest loads them: the rule, platform, rootdir, configfile, plugins, conftest lines."""
    leaky = {*LEAKY_VARIABLES, "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    env = {k: v for k, v in os.environ.items() if k not in leaky}
    proc = subprocess.run(
        [sys.executable, "-m", *argv, "-p", "no:randomly"], cwd=root, env=env,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    lines = proc.stdout.replace(str(root), "ROOT").splitlines()
    start = next(i for i, line in enumerate(lines) if "test session starts" in line)
    return list(
        itertools.takewhile(
            lambda line: line and not line.startswith(("fastci", "collect")), lines[start:]
        )
    )


@pytest.mark.parametrize("args", [(), ("-v",)])
def test_the_session_header_is_the_one_pytest_prints(tmp_path: Path, args: tuple[str, ...]) -> None:
    expected = header(write_project(tmp_path / "pytest", FILES), "pytest", *args)
    assert "shop: test database on sqlite" in expected
    assert any(line.startswith("rootdir: ROOT") for line in expected)
    assert header(write_project(tmp_path / "fastci", FILES), "fastci", "run", *args) == expected


def test_dash_q_prints_no_header_as_pytest(tmp_path: Path) -> None:
    _, fastci_seen = both(tmp_path, "-q")
    assert "test session starts" not in fastci_seen.output


def test_dash_v_prints_pytests_line_for_every_test(tmp_path: Path) -> None:
    pytest_seen, fastci_seen = both(tmp_path, "-v")
    expected = verbose_lines(pytest_seen)
    assert "test_mix.py::test_xfail XFAIL (known bug)" in expected
    assert verbose_lines(fastci_seen) == expected


def test_the_short_summary_lines_carry_pytests_messages_and_reasons(tmp_path: Path) -> None:
    pytest_seen, fastci_seen = both(tmp_path, "-ra")
    expected = section(pytest_seen.output, "short test summary info")
    assert "FAILED test_mix.py::test_fail - assert 1 == 2" in expected
    assert "SKIPPED [2] test_more.py:13: no network" in expected  # folded, as pytest does
    assert sorted(section(fastci_seen.output, "short test summary info")) == sorted(expected)
    rules = [line for line in pytest_seen.output.splitlines() if _RULE.match(line)]
    assert rules[-2] == "=" * 47 + " short test summary info " + "=" * 48  # 120 columns
    assert rules[-2] in fastci_seen.output.splitlines()


def duration_entries(output: str, title: str) -> set[tuple[str, str]]:
    return {
        (parts[1], parts[2])
        for parts in (line.split() for line in section(output, title))
        if len(parts) == 3 and parts[0].endswith("s")
    }


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (("--durations=0", "--durations-min=0"), "slowest durations"),
        (("--durations=1",), "slowest 1 durations"),
    ],
)
def test_durations_list_the_phases_pytest_lists(
    tmp_path: Path, args: tuple[str, ...], title: str
) -> None:
    pytest_seen, fastci_seen = both(tmp_path, *args)
    expected = duration_entries(pytest_seen.output, title)
    assert expected
    assert duration_entries(fastci_seen.output, title) == expected


def test_without_durations_no_slowest_section_is_printed(tmp_path: Path) -> None:
    _, fastci_seen = both(tmp_path, "-q")
    assert "slowest" not in fastci_seen.output


def bare_final_line(output: str) -> str | None:
    """-q's final line without its time, ``1 failed, 8 passed``: None if not printed bare."""
    lines = [re.sub(r" in [\d.]+s$", "", line) for line in output.splitlines()]
    return next((line for line in reversed(lines) if re.match(r"^\d+ [a-z]", line)), None)


def test_dash_q_ends_with_pytests_final_line_without_its_rule(tmp_path: Path) -> None:
    pytest_seen, fastci_seen = both(tmp_path, "-q")
    assert bare_final_line(pytest_seen.output)
    assert bare_final_line(fastci_seen.output) == bare_final_line(pytest_seen.output)


WARNING_FILES = {
    "conftest.py": "",
    "test_old.py": """
        import warnings

        warnings.warn("old module imported", UserWarning)

        def test_uses_old():
            warnings.warn("old api", DeprecationWarning)
    """,
    "test_many.py": """
        import warnings
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_each(n):
            warnings.warn("slow path", RuntimeWarning)

        class TestKind:
            def test_one(self):
                warnings.warn("old api", DeprecationWarning)

        def test_quiet():
            pass
    """,
}


def warning_groups(output: str) -> set[tuple[frozenset[str], str]]:
    """The warnings summary as (where, message) groups, its docs line checked to be there."""
    lines = [re.sub(r"/\S*/by_\w+/", "", line) for line in section(output, "warnings summary")]
    docs = next(i for i, line in enumerate(lines) if line.startswith("-- Docs: https://docs."))
    groups = set()
    for block in "\n".join(lines[:docs]).split("\n\n"):
        entry = [line for line in block.splitlines() if line]
        if entry:
            where = frozenset(line for line in entry if not line.startswith("  "))
            message = "\n".join(line for line in entry if line.startswith("  "))
            groups.add((where, message))
    return groups


def warning_count(output: str) -> str:
    return str(re.findall(r"\b\d+ warnings?\b", output.splitlines()[-1])[0])


def test_warnings_are_summarized_and_counted_as_pytest_does_across_workers_and_shards(
    tmp_path: Path,
) -> None:
    by_each = differential(tmp_path, WARNING_FILES)
    expected = warning_groups(by_each.pytest.output)
    assert any("test_old.py:3" in where for where, _ in expected)  # raised while collecting
    for seen in (by_each.fastci, by_each.shards):
        assert warning_groups(seen.output) == expected
        assert warning_count(seen.output) == warning_count(by_each.pytest.output) == "6 warnings"
