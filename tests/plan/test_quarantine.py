"""The quarantine: matching node ids, and pyproject.toml edited as text, safely or not at all."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fastci.plan.quarantine import CannotEdit, add_to_pyproject, quarantined

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PARAM = "tests/test_a.py::test_p[a]::b]"


def quarantine_of(path: Path) -> list[str]:
    return list(tomllib.loads(path.read_text())["tool"]["fastci"]["quarantine"])


def test_a_pattern_matches_a_test_its_file_its_class_or_a_wildcard() -> None:
    test = "tests/net/test_http.py::TestGet::test_slow[1]"
    for pattern in (
        test,
        "tests/net/test_http.py",
        "tests/net/test_http.py::TestGet",
        "tests/net/*",
    ):
        assert quarantined(test, [pattern]), pattern
    assert not quarantined(test, ["tests/net/test_http", "tests/net/test_http.py::TestGe"])


def test_a_new_table_is_appended_and_comments_and_other_tables_stay(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"  # the name\n\n[tool.ruff]\nline-length = 90\n')
    assert add_to_pyproject(path, ["t.py::b", "t.py::a"]) == ["t.py::a", "t.py::b"]
    text = path.read_text()
    assert text.startswith('[project]\nname = "x"  # the name\n\n[tool.ruff]\nline-length = 90\n')
    assert quarantine_of(path) == ["t.py::a", "t.py::b"]


def test_an_existing_list_over_several_lines_is_extended_in_place(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.fastci]  # fastci's settings\njobs = 4\nquarantine = [\n"
        f'    "{PARAM}",  # a bracket inside\n    "t.py::old",\n]\nreruns = 1\n\n'
        "[tool.other]\nkey = 1\n"
    )
    assert add_to_pyproject(path, ["t.py::new", "t.py::old"])[-1] == "t.py::new"
    assert quarantine_of(path) == [PARAM, "t.py::old", "t.py::new"]
    document = tomllib.loads(path.read_text())
    assert document["tool"]["fastci"]["reruns"] == 1
    assert document["tool"]["other"] == {"key": 1}
    assert "# fastci's settings" in path.read_text()


def test_a_missing_pyproject_is_written_with_the_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    add_to_pyproject(path, ["t.py::a"])
    assert path.read_text() == '[tool.fastci]\nquarantine = [\n    "t.py::a",\n]\n'


@pytest.mark.parametrize(
    "text",
    [
        "tool.fastci.jobs = 2\n",
        "[tool]\nfastci = { jobs = 2 }\n",
    ],
    ids=["dotted keys", "inline table"],
)
def test_an_unusual_shape_is_refused_and_left_as_it_is(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(CannotEdit):
        add_to_pyproject(path, ["t.py::b"])
    assert path.read_text() == text
