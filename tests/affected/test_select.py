"""fastci affected selects every test a change can affect, one kind of dependency at a time:
a recorded run of a real project in a real git repository, a change, a real selection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers.affected import (
    FILES,
    affected,
    changed_copy,
    git,
    recorded_project,
    run_fastci,
)
from tests.helpers.git import new_project

# Selected with no change at all: the recorded failure and the always_run marker.
ALWAYS = {"tests/test_fails.py::test_broken", "tests/test_shapes.py::test_slow"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recorded_project(tmp_path_factory.mktemp("affected"))


def selection(recorded: Path, tmp_path: Path, files: dict[str, str | None]) -> dict[str, Any]:
    return affected(changed_copy(recorded, tmp_path / "copy", files))


def selected(recorded: Path, tmp_path: Path, files: dict[str, str | None]) -> set[str]:
    return set(selection(recorded, tmp_path, files)["selected"]) - ALWAYS


def test_no_change_selects_only_the_failed_test_and_always_run(
    recorded: Path, tmp_path: Path
) -> None:
    result = selection(recorded, tmp_path, {})
    assert set(result["selected"]) == ALWAYS
    assert result["reasons"]["tests/test_fails.py::test_broken"].startswith("failed at ")
    assert result["reasons"]["tests/test_shapes.py::test_slow"] == "always_run slow"
    assert "tests/test_fails.py::test_fine" in result["skipped"]
    assert result["data_commit"] == git(recorded, "rev-parse", "HEAD")
    assert result["everything"] is None


def test_a_change_to_a_called_function_selects_its_test_and_no_other(
    recorded: Path, tmp_path: Path
) -> None:
    calc = FILES["pkg/calc.py"].replace("min(a + b, LIMIT)", "a + b")
    result = selection(recorded, tmp_path, {"pkg/calc.py": calc})
    assert set(result["selected"]) - ALWAYS == {"tests/test_calc.py"}
    # its file's only test: the file runs whole, so a test added to it since would run too
    assert result["reasons"]["tests/test_calc.py"] == "every test in it: pkg/calc.py: add() changed"


def test_an_unrelated_change_selects_nothing(recorded: Path, tmp_path: Path) -> None:
    assert (
        selected(recorded, tmp_path, {"README.md": "# changed\n", "pkg/new.py": "X = 1\n"}) == set()
    )


def test_a_class_attribute_change_selects_the_test_reading_it(
    recorded: Path, tmp_path: Path
) -> None:
    shapes = "class Box:\n    size = 4\n"
    assert selected(recorded, tmp_path, {"pkg/shapes.py": shapes}) == {"tests/test_shapes.py"}


def test_an_import_time_constant_selects_tests_of_modules_that_import_it_even_when_loaded(
    recorded: Path, tmp_path: Path
) -> None:
    assert selected(recorded, tmp_path, {"pkg/consts.py": "LIMIT = 11\n"}) == {
        "tests/test_calc.py",
        "tests/test_limits.py",
    }


def test_a_function_fixture_in_conftest_charges_what_its_setup_ran(
    recorded: Path, tmp_path: Path
) -> None:
    users = "def make_user():\n    return {'name': 'bob'}\n"
    assert selected(recorded, tmp_path, {"pkg/users.py": users}) == {"tests/test_users.py"}


def test_a_session_fixture_is_charged_to_every_test_using_it_not_only_the_first(
    recorded: Path, tmp_path: Path
) -> None:
    db = "def connect():\n    return {'rows': 0}\n"
    assert selected(recorded, tmp_path, {"pkg/db.py": db}) == {"tests/test_db.py"}


def test_a_data_file_a_test_opened_selects_it(recorded: Path, tmp_path: Path) -> None:
    assert selected(recorded, tmp_path, {"data/words.txt": "apple\n"}) == {"tests/test_words.py"}


def test_a_module_imported_with_importlib_selects_the_test(recorded: Path, tmp_path: Path) -> None:
    greet = "def greet():\n    return 'hello'\n"
    assert selected(recorded, tmp_path, {"pkg/plugins/greet.py": greet}) == {
        "tests/test_plugins.py"
    }


def test_a_deleted_module_selects_its_importers(recorded: Path, tmp_path: Path) -> None:
    result = selection(recorded, tmp_path, {"pkg/old.py": None})
    assert set(result["selected"]) - ALWAYS == {"tests/test_old.py"}
    assert result["reasons"]["tests/test_old.py"] == "every test in it: pkg/old.py deleted"


def test_a_renamed_module_selects_its_importers(recorded: Path, tmp_path: Path) -> None:
    copy = changed_copy(recorded, tmp_path / "copy", {})
    git(copy, "mv", "pkg/old.py", "pkg/older.py")
    assert set(affected(copy)["selected"]) - ALWAYS == {"tests/test_old.py"}


def test_a_package_init_change_selects_every_test_importing_from_the_package(
    recorded: Path, tmp_path: Path
) -> None:
    assert selected(recorded, tmp_path, {"pkg/__init__.py": "VERSION = 2\n"}) == {
        "tests/test_calc.py",
        "tests/test_limits.py",
        "tests/test_shapes.py",
        "tests/test_users.py",
        "tests/test_db.py",
        "tests/test_plugins.py",
        "tests/test_old.py",
    }


@pytest.mark.parametrize(
    ("files", "why"),
    [
        (
            {"pyproject.toml": FILES["pyproject.toml"] + "\n[tool.coverage.run]\nbranch = true\n"},
            "pyproject.toml",
        ),
        ({"tests/conftest.py": FILES["tests/conftest.py"] + "\n"}, "tests/conftest.py"),
        ({"tests/unit/conftest.py": ""}, "tests/unit/conftest.py"),
        ({"schema/db.sql": "CREATE TABLE u (y);\n"}, "inputs schema/*.sql"),
    ],
)
def test_a_global_input_change_selects_everything(
    recorded: Path, tmp_path: Path, files: dict[str, str | None], why: str
) -> None:
    result = selection(recorded, tmp_path, files)
    assert result["everything"] == f"{why} changed since the data's commit"
    assert result["skipped"] == []
    assert "tests/test_words.py" in result["selected"]


def test_a_lint_or_tox_setting_or_a_comment_in_pyproject_toml_selects_nothing_more(
    recorded: Path, tmp_path: Path
) -> None:
    pyproject = FILES["pyproject.toml"] + "\n# wider lines\n[tool.ruff]\nline-length = 120\n"
    pyproject += '\n[tool.tox]\nenv_list = ["3.11", "3.12"]\n'  # tox runs pytest from outside
    result = selection(recorded, tmp_path, {"pyproject.toml": pyproject})
    assert result["everything"] is None
    assert set(result["selected"]) == ALWAYS


def test_a_declared_environment_variable_change_selects_everything(
    recorded: Path, tmp_path: Path
) -> None:
    copy = changed_copy(recorded, tmp_path / "copy", {})
    assert affected(copy, env={"SHOP_MODE": "strict"})["everything"] == (
        "$SHOP_MODE changed since the data's commit"
    )


def test_a_mapped_input_selects_the_tests_it_names(recorded: Path, tmp_path: Path) -> None:
    result = selection(recorded, tmp_path, {"templates/page.html": "<p>bye</p>\n"})
    assert set(result["selected"]) - ALWAYS == {"tests/test_words.py"}
    assert result["everything"] is None


def test_a_new_test_file_is_selected_whole(recorded: Path, tmp_path: Path) -> None:
    result = selection(recorded, tmp_path, {"tests/test_new.py": "def test_new():\n    pass\n"})
    assert set(result["selected"]) - ALWAYS == {"tests/test_new.py"}
    assert result["reasons"]["tests/test_new.py"].startswith("new test file")


def test_a_changed_test_file_is_selected_whole(recorded: Path, tmp_path: Path) -> None:
    words = FILES["tests/test_words.py"] + "\n\ndef test_more():\n    pass\n"
    assert selected(recorded, tmp_path, {"tests/test_words.py": words}) == {"tests/test_words.py"}


def test_always_run_takes_test_paths_too(recorded: Path, tmp_path: Path) -> None:
    copy = changed_copy(recorded, tmp_path / "copy", {})
    chosen = affected(copy, "--always-run", "tests/test_db.py")["selected"]
    assert set(chosen) - ALWAYS == {"tests/test_db.py"}


def test_a_test_that_starts_a_process_is_selected_by_any_change_in_the_project(
    tmp_path: Path,
) -> None:
    files = {
        "tool.py": "print('hi')\n",
        "other.py": "X = 1\n",
        "tests/test_tool.py": "import subprocess, sys\n\n\ndef test_tool():\n"
        "    out = subprocess.run([sys.executable, 'tool.py'], capture_output=True, text=True)\n"
        "    assert out.stdout == 'hi\\n'\n",
        "tests/test_plain.py": "def test_plain():\n    pass\n",
    }
    root = new_project(tmp_path / "p", files)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert affected(root)["selected"] == []
    (root / "tool.py").write_text("print('bye')\n")  # only the child process ran it
    result = affected(root)
    assert result["selected"] == ["tests/test_tool.py"]
    assert result["reasons"]["tests/test_tool.py"] == (
        "every test in it: <started a process> and tool.py changed"
    )
