"""Failures fastci affected missed in bench/affected.py's replays and mutations, each made
small: a recorded run of a real project in a real git repository, the change, the selection."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.affected import affected, changed_copy, recorded


def selected_once_answer_changes(tmp_path: Path, files: dict[str, str]) -> set[str]:
    """What fastci affected selects in the recorded project once lib/_impl.py's answer()
    returns 41 instead of 42."""
    root = recorded(tmp_path, files)
    changed = files["lib/_impl.py"].replace("return 42", "return 41")
    result = affected(changed_copy(root, tmp_path / "copy", {"lib/_impl.py": changed}))
    return set(result["selected"])


# tomli's layout (bench/affected.py, mutation src/tomli/_parser.py:505): the tests import
# the library through tests/__init__.py, and test_misc.py hits the recursion limit in one
# test before calling the library in the next.
DEEP = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "lib/__init__.py": "from lib._impl import answer, nest\n",
    "lib/_impl.py": "def answer():\n    return 42\n\n\ndef nest(n):\n    return nest(n + 1)\n",
    "tests/__init__.py": "import lib\n",
    "tests/test_data.py": "from tests import lib\n\n\ndef test_data():\n"
    "    assert lib.answer() == 42\n",
    "tests/test_misc.py": """\
import pytest

from tests import lib


def test_deep():
    with pytest.raises(RecursionError):
        lib.nest(0)


def test_load():
    assert lib.answer() == 42
""",
}


def test_a_test_after_one_that_hit_the_recursion_limit_is_selected_by_what_it_calls(
    tmp_path: Path,
) -> None:
    # CPython unsets a trace function that raises, and a RecursionError raised inside the
    # recorder's trace function does; every later test in that worker recorded no code.
    assert "tests/test_misc.py::test_load" in selected_once_answer_changes(tmp_path, DEEP)


UNTRACED = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "lib/__init__.py": "",
    "lib/_impl.py": "def answer():\n    return 42\n",
    "tests/conftest.py": "import lib._impl  # noqa: F401\n",
    "tests/test_untraced.py": """\
import sys


def test_untraced():
    sys.settrace(None)  # as CPython does to a trace function that raised
    assert sys.modules["lib._impl"].answer() == 42


def test_next():
    assert sys.modules["lib._impl"].answer() == 42
""",
}


def test_a_test_whose_trace_function_was_unset_is_selected_by_any_change(
    tmp_path: Path,
) -> None:
    # both tests are selected, so the file runs whole
    assert "tests/test_untraced.py" in selected_once_answer_changes(tmp_path, UNTRACED)
