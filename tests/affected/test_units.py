"""fastci affected selects by function: a change to one function's body runs the tests that
ran that body, and anything else a change can reach (module-level code, docstrings, caches,
source read as text, collection) still runs every test that touched the file. A real
recorded run with no bytecode on disk (as on a fresh CI checkout), real changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastci.affected.units import changed_units, fingerprint, line_units, parse
from tests.helpers.affected import affected, changed_copy, run_fastci
from tests.helpers.git import new_project

FUNCS = '''\
"""Small functions."""
LIMIT = 10


def double(x):
    return x * 2


def triple(x):
    return x * 3


def documented():
    """Only a docstring."""


class Shape:
    sides = 3

    def area(self):
        return 1

    @property
    def name(self):
        return "shape"
'''
CACHED = """\
import functools


@functools.lru_cache
def settings():
    return {"mode": load()}


def load():
    return "fast"
"""
FILES = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "pkg/__init__.py": "",
    "pkg/funcs.py": FUNCS,
    "pkg/cached.py": CACHED,
    "pkg/source.py": "def show():\n    return 1\n",
    "tests/test_funcs.py": """\
import pytest

from pkg.funcs import LIMIT, Shape, documented, double, triple


def test_double():
    assert double(2) == 4


def test_triple():
    assert triple(2) == 6


def test_documented():
    assert documented() is None


def test_limit():
    assert LIMIT == 10


def test_area():
    assert Shape().area() == 1


def test_name():
    assert Shape().name == "shape"
""",
    "tests/test_cached.py": """\
from pkg.cached import settings


def test_first():
    assert settings()["mode"] == "fast"


def test_second():
    assert settings()["mode"] == "fast"
""",
    "tests/test_source.py": """\
import inspect

from pkg.source import show


def test_source():
    assert "return 1" in inspect.getsource(show)


def test_nothing():
    pass
""",
    "tests/test_params.py": """\
def pytest_generate_tests(metafunc):
    if "n" in metafunc.fixturenames:
        metafunc.parametrize("n", [1, 2])


def test_n(n):
    assert n < 3


def test_other():
    pass
""",
}
NO_BYTECODE = {"PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_project(tmp_path_factory.mktemp("units") / "recorded", FILES)
    run = run_fastci(root, "run", "-j", "1", "--record-deps", env=NO_BYTECODE)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not list(root.rglob("__pycache__"))  # importlib read every module's source
    return root


def selection(recorded: Path, tmp_path: Path, files: dict[str, str | None]) -> dict[str, Any]:
    return affected(changed_copy(recorded, tmp_path / "copy", files))


def selected(recorded: Path, tmp_path: Path, files: dict[str, str | None]) -> set[str]:
    return set(selection(recorded, tmp_path, files)["selected"])


def test_a_function_body_change_selects_only_the_tests_that_ran_it(
    recorded: Path, tmp_path: Path
) -> None:
    result = selection(recorded, tmp_path, {"pkg/funcs.py": FUNCS.replace("x * 2", "x + x")})
    assert result["selected"] == ["tests/test_funcs.py::test_double"]
    assert result["reasons"]["tests/test_funcs.py::test_double"] == (
        "pkg/funcs.py: double() changed"
    )
    assert "tests/test_funcs.py::test_triple" in result["skipped"]


def test_a_method_or_property_body_change_selects_only_its_tests(
    recorded: Path, tmp_path: Path
) -> None:
    name = FUNCS.replace('return "shape"', 'return "box"')
    assert selected(recorded, tmp_path / "n", {"pkg/funcs.py": name}) == {
        "tests/test_funcs.py::test_name"
    }
    area = FUNCS.replace("return 1", "return 2")
    assert selected(recorded, tmp_path / "a", {"pkg/funcs.py": area}) == {
        "tests/test_funcs.py::test_area"
    }


def test_a_moved_function_or_a_comment_selects_nothing(recorded: Path, tmp_path: Path) -> None:
    funcs = FUNCS.replace("LIMIT = 10\n", "LIMIT = 10  # the most\n\n\n# doubles\n")
    assert selected(recorded, tmp_path, {"pkg/funcs.py": funcs}) == set()


@pytest.mark.parametrize(
    "change",
    [
        ("LIMIT = 10", "LIMIT = 11"),  # module-level code
        ("sides = 3", "sides = 4"),  # a class attribute
        ('"""Only a docstring."""', '"""Only a docstring, and a doctest reads it."""'),
        ("def triple(x):", "def triple(x=1):"),  # a signature
    ],
    ids=["constant", "class-attribute", "docstring", "signature"],
)
def test_a_change_outside_function_bodies_runs_every_test_that_touched_the_file(
    recorded: Path, tmp_path: Path, change: tuple[str, str]
) -> None:
    result = selection(recorded, tmp_path, {"pkg/funcs.py": FUNCS.replace(*change)})
    assert result["selected"] == ["tests/test_funcs.py"]
    assert result["reasons"]["tests/test_funcs.py"] == "every test in it: pkg/funcs.py changed"


def test_code_given_to_a_function_that_had_only_a_docstring_runs_the_tests_of_the_file(
    recorded: Path, tmp_path: Path
) -> None:
    # Calling it traced only its def line, which the import ran too: its caller is not
    # known, so the body was the skeleton's.
    funcs = FUNCS.replace('"""Only a docstring."""', '"""Only a docstring."""\n    return 1')
    assert selected(recorded, tmp_path, {"pkg/funcs.py": funcs}) == {"tests/test_funcs.py"}


def test_a_change_behind_a_cache_selects_the_tests_that_read_the_cached_result(
    recorded: Path, tmp_path: Path
) -> None:
    # test_second never ran load(): it read what test_first's call left in the cache.
    cached = CACHED.replace('return "fast"', 'return "slow"')
    assert selected(recorded, tmp_path, {"pkg/cached.py": cached}) == {"tests/test_cached.py"}


def test_a_function_whose_source_a_test_reads_selects_that_test(
    recorded: Path, tmp_path: Path
) -> None:
    result = selection(recorded, tmp_path, {"pkg/source.py": "def show():\n    return 2\n"})
    assert result["selected"] == ["tests/test_source.py::test_source"]
    assert result["reasons"]["tests/test_source.py::test_source"] == "pkg/source.py changed"


def test_a_test_body_change_selects_that_test(recorded: Path, tmp_path: Path) -> None:
    funcs = FILES["tests/test_funcs.py"]
    changed = funcs.replace("assert triple(2) == 6", "assert triple(3) == 9")
    assert selected(recorded, tmp_path, {"tests/test_funcs.py": changed}) == {
        "tests/test_funcs.py::test_triple"
    }


def test_added_tests_run_with_the_changed_ones_and_the_rest_of_their_file_is_deselected(
    recorded: Path, tmp_path: Path
) -> None:
    funcs = FILES["tests/test_funcs.py"].replace("assert double(2) == 4", "assert double(3) == 6")
    funcs += "\n\ndef helper():\n    return 2\n\n\ndef test_more():\n    assert helper() == 2\n"
    funcs += "\n\nclass TestNew:\n    def test_new(self):\n        assert triple(1) == 3\n"
    copy = changed_copy(recorded, tmp_path / "copy", {"tests/test_funcs.py": funcs})
    result = affected(copy)
    assert result["selected"] == ["tests/test_funcs.py"]
    assert result["reasons"]["tests/test_funcs.py"] == (
        "3 added (TestNew, helper, test_more); 1 of its 6 earlier tests affected"
    )
    assert "tests/test_funcs.py::test_double" not in result["deselected"]
    assert len(result["deselected"]) == 5
    run = run_fastci(copy, "run", "-j", "1", "--affected")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout  # test_double, test_more, TestNew::test_new


@pytest.mark.parametrize(
    "addition",
    [
        "\n\ndef setup_module():\n    pass\n",
        "\n\n@pytest.fixture(autouse=True)\ndef each():\n    yield\n",
        "\n\nLIMIT = 11\n\n\ndef test_more():\n    pass\n",
    ],
    ids=["setup-hook", "autouse-fixture", "test-and-a-constant"],
)
def test_an_addition_that_reaches_earlier_tests_runs_the_whole_file(
    recorded: Path, tmp_path: Path, addition: str
) -> None:
    funcs = FILES["tests/test_funcs.py"] + addition
    result = selection(recorded, tmp_path, {"tests/test_funcs.py": funcs})
    assert result["selected"] == ["tests/test_funcs.py"]
    assert result["reasons"]["tests/test_funcs.py"] == "test file changed"
    assert result["deselected"] == []


def test_a_change_to_collection_runs_the_whole_file_and_its_new_tests(
    recorded: Path, tmp_path: Path
) -> None:
    params = FILES["tests/test_params.py"].replace("[1, 2]", "[1, 2, 3]")
    copy = changed_copy(recorded, tmp_path / "copy", {"tests/test_params.py": params})
    assert affected(copy)["selected"] == ["tests/test_params.py"]
    run = run_fastci(copy, "run", "-j", "1", "--affected")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "test_params.py::test_n[3]" in run.stdout
    assert "1 failed, 3 passed" in run.stdout


def test_units_are_module_level_functions_and_methods_with_plain_decorators() -> None:
    source = (
        "import app\n\n\n@app.route('/')\ndef view():\n    return 1\n\n\n"
        "class K:\n    @staticmethod\n    def s():\n        def inner():\n            return 2\n"
        "        return inner()\n"
    )
    tree = parse(source)
    assert tree is not None
    assert line_units(tree) == {12: "K.s", 13: "K.s", 14: "K.s"}  # view() is the skeleton's


@pytest.mark.parametrize(
    "source",
    [
        "_seen = set()\n\n\ndef f(x):\n    _seen.add(x)\n",
        "_memo = {}\n\n\ndef f(k):\n    _memo[k] = 1\n",
        "X = None\n\n\ndef f():\n    global X\n    X = 1\n",
        "class K:\n    @classmethod\n    def make(cls):\n        cls.made = True\n",
        "_a = [1, 2]\n\n\ndef swap():\n    _a[0], _a[1] = _a[1], _a[0]\n",
        "import functools\n\n\ndef f():\n    return 1\n\n\nf = functools.lru_cache(f)\n",
        "_q = [1]\n\n\ndef f():\n    _q.pop()\n",
        "_d = {1: 2}\n\n\ndef f():\n    del _d[1]\n",
        "_g = []\n\n\ndef f(c):\n    mine = []\n    (mine if c else _g).append(1)\n",
        "_d = {}\n\n\ndef f(d=_d):\n    d[1] = 2\n",
        "class K:\n    items = []\n\n    def add(self, x):\n        self.items.append(x)\n",
        "class K:\n    n = 0\n\n    def __init__(self):\n        type(self).n += 1\n",
        "class K:\n    def set(self):\n        self.v = 1\n\n\nK1 = K()\n",
        "_d = {}\n\n\ndef f():\n    d = _d\n    d[1] = 2\n",
        "def make():\n    n = 0\n\n    def inc():\n        nonlocal n\n        n += 1\n\n"
        "    return inc\n\n\ncounter = make()\n",
    ],
    ids=[
        "set-add",
        "item",
        "global",
        "class-state",
        "tuple-target",
        "cache-by-call",
        "pop",
        "del",
        "choice-of-a-global",
        "shared-default",
        "class-list",
        "type-of-self",
        "module-instance",
        "alias",
        "module-closure",
    ],
)
def test_a_file_keeping_state_between_calls_is_one_whole(source: str) -> None:
    assert parse(source) is None


def test_a_cached_function_and_what_it_may_call_stay_in_the_skeleton() -> None:
    source = (
        "import functools\n\n\n@functools.cache\ndef settings():\n    return load()\n\n\n"
        "def load():\n    return parse()\n\n\ndef parse():\n    return 1\n\n\n"
        "def other():\n    return 2\n"
    )
    tree = parse(source)
    assert tree is not None
    assert set(line_units(tree).values()) == {"other"}


@pytest.mark.parametrize(
    "source",
    [
        "def f(xs):\n    out = []\n    def g(x):\n        out.append(x)\n    return out\n",
        "def f(xs):\n    def g(a):\n        a[0], a[1] = a[1], a[0]\n    return g\n",
        "def f():\n    n = 0\n    def g():\n        nonlocal n\n        n += 1\n    return g\n",
        "import functools\n\n\nclass K:\n    @functools.cached_property\n    def v(self):\n"
        "        return 1\n",
        "class K:\n    def __init__(self):\n        self.items = []\n\n    def add(self, x):\n"
        "        self.items.append(x)\n",
        "class K:\n    def get(self):\n        return 1\n\n\nK1 = K()\n",
        "def f(xs=None, n=1):\n    xs = [] if xs is None else xs\n    xs.append(n)\n",
        "def f(n):\n    made = []\n    out = made\n    out.append(n)\n    return out\n",
        "def f(x):\n    index = {}\n    index.setdefault(1, []).append(x)\n    return index\n",
        "import dataclasses\n\n\n@dataclasses.dataclass\nclass K:\n"
        "    items: list = dataclasses.field(default_factory=list)\n\n"
        "    def add(self, x):\n        self.items.append(x)\n",
        "def f(c, x):\n    a, b = [], []\n    (a if c(x) else b).append(x)\n    return a, b\n",
    ],
    ids=[
        "enclosing-list",
        "nested-argument",
        "nonlocal",
        "cached-property",
        "instance-list",
        "module-instance-unchanged",
        "constant-default",
        "alias-of-a-local",
        "method-result-of-a-local",
        "dataclass-field",
        "choice-of-locals",
    ],
)
def test_state_made_per_call_or_per_instance_keeps_the_file_split(source: str) -> None:
    assert parse(source) is not None


def test_two_definitions_of_one_name_are_one_unit() -> None:
    old = "import sys\nif sys.version_info > (3,):\n    def f():\n        return 1\n"
    old += "else:\n    def f():\n        return 2\n"
    new = old.replace("return 2", "return 3")
    old_tree, new_tree = parse(old), parse(new)
    assert old_tree is not None
    assert new_tree is not None
    assert changed_units(fingerprint(old_tree), fingerprint(new_tree)) == {"f"}
