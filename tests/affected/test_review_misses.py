"""Changes that alter a test's outcome while fastci affected does not select the test,
found by a soundness review: each a real recorded project, the change, the selection, and
a real run proving the outcome changed. Each miss not yet fixed is a strict xfail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.affected import affected, changed_copy, recorded, run_fastci
from tests.helpers.review import (
    ADD_TO,
    ADDOPTS,
    BAG,
    BASE_TESTS,
    CACHED,
    CHECKS,
    CHILD_TESTS,
    CLOSURE,
    CODE,
    COUNTED,
    DISCOVER,
    FIXTURE,
    LAZY,
    LISTED,
    MEMO,
    NAMES,
    NAMESPACE,
    OVERRIDDEN,
    PLUGIN,
    POOL,
    READS_ITEMS,
    SESSION_ITEMS,
    SHADOWED,
    STORE,
    UNITTEST,
    WORK,
)

PYPROJECT = {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'}


def selects(
    tmp_path: Path, files: dict[str, str], change: dict[str, str | None], test: str
) -> bool:
    """Whether ``test``, which fails once ``change`` is made to the recorded project, is in
    what fastci affected selects for that change."""
    root = changed_copy(recorded(tmp_path, {**PYPROJECT, **files}), tmp_path / "copy", change)
    result = affected(root)
    run = run_fastci(root, "run", "-j", "1", test.split("::", maxsplit=1)[0])
    assert f"FAILED {test}" in run.stdout, run.stdout + run.stderr
    if test in result["deselected"]:
        return False
    return any(test == s or test.startswith(f"{s}::") for s in result["selected"])


def case(
    name: str,
    files: dict[str, str],
    change: dict[str, str | None],
    test: str,
    missed: str = "",
) -> object:
    """One reviewed change: ``missed`` says why it is not selected yet (a strict xfail)."""
    marks = [pytest.mark.xfail(strict=True, reason=missed)] if missed else []
    return pytest.param({"pkg/__init__.py": "", **files}, change, test, id=name, marks=marks)


def left(name: str, module: str, changed: str, act: str, read: str, missed: str = "") -> object:
    """test_b reads back with ``read`` what test_a's ``act`` left in pkg/m.py's state; the
    change (``module`` to ``changed``) is to code test_b does not run."""
    test = (
        f"from pkg import m\n\n\ndef test_a():\n    {act}\n\n\ndef test_b():\n    assert {read}\n"
    )
    files = {"pkg/m.py": module, "tests/test_s.py": test}
    return case(name, files, {"pkg/m.py": changed}, "tests/test_s.py::test_b", missed)


def act(state: str, old: str, new: str, signature: str = "act()") -> tuple[str, str]:
    """pkg/m.py with ``state`` and an ``act`` function of body ``old``, then ``new``."""
    before, after = (f"{state}\n\n\ndef {signature}:\n    {code}\n" for code in (old, new))
    return before, after


SHARED = "a later test reads state an earlier test left, from code the later test never ran"
CASES = [
    case(
        "a-helper-added-to-a-test-file-shadows-an-imported-name",
        {"pkg/m.py": "def helper():\n    return 1\n", "tests/test_s.py": SHADOWED},
        {"tests/test_s.py": SHADOWED + "\n\ndef helper():\n    return 2\n"},
        "tests/test_s.py::test_a",
    ),
    case(
        "a-method-added-to-a-test-class-overrides-an-inherited-helper",
        {"tests/test_o.py": OVERRIDDEN},
        {"tests/test_o.py": OVERRIDDEN + "\n    def value(self):\n        return 2\n"},
        "tests/test_o.py::TestSub::test_v",
    ),
    case(
        "a-test-added-to-a-test-class-overrides-an-inherited-test",
        {"tests/test_o.py": OVERRIDDEN},
        {"tests/test_o.py": OVERRIDDEN + "\n    def test_v(self):\n        assert False\n"},
        "tests/test_o.py::TestSub::test_v",
    ),
    case(
        "a-method-added-to-a-testcase-overrides-an-assertion",
        {"tests/test_u.py": UNITTEST},
        {
            "tests/test_u.py": UNITTEST
            + "\n    def assertEqual(self, a, b):\n        raise ValueError\n"
        },
        "tests/test_u.py::TestU::test_x",
    ),
    case(
        "a-forked-worker-runs-the-changed-function",
        {"pkg/m.py": WORK.format(1), "tests/test_p.py": POOL.format("fork")},
        {"pkg/m.py": WORK.format(2)},
        "tests/test_p.py::test_pool",
    ),
    case(
        "a-spawned-worker-runs-the-changed-function",
        {"pkg/m.py": WORK.format(1), "tests/test_p.py": POOL.format("spawn")},
        {"pkg/m.py": WORK.format(2)},
        "tests/test_p.py::test_pool",
    ),
    case(
        "a-forkserver-worker-runs-the-changed-function",
        {"pkg/m.py": WORK.format(1), "tests/test_p.py": POOL.format("forkserver")},
        {"pkg/m.py": WORK.format(2)},
        "tests/test_p.py::test_pool",
    ),
    left(
        "list-pop",
        *act("STATE = [1, 2, 3]", "STATE.pop()", "STATE[-1]"),
        "m.act()",
        "len(m.STATE) == 2",
    ),
    left(
        "del-item",
        *act("STATE = {'a': 1}", "del STATE['a']", "STATE['a']"),
        "m.act()",
        "m.STATE == {}",
    ),
    left(
        "setattr",
        *act(NAMESPACE, "setattr(STATE, 'on', True)", "setattr(STATE, 'on', False)"),
        "m.act()",
        "m.STATE.on",
    ),
    left(
        "a-default-argument-names-module-state",
        *act("STATE = {}", "state['x'] = 1", "state['y'] = 1", "act(state=STATE)"),
        "m.act()",
        "'x' in m.STATE",
    ),
    left("a-mutable-default-memoizes", MEMO.format(0), MEMO.format(1), "m.act()", "m.act() == 1"),
    left(
        "a-local-name-aliases-module-state",
        *act("STATE = {}", "s = STATE\n    s['x'] = 1", "s = STATE\n    s['y'] = 1"),
        "m.act()",
        "'x' in m.STATE",
    ),
    left(
        "a-module-level-instance-keeps-items",
        STORE.format(""),
        STORE.format("\n        self.items.append(x)"),
        "m.STORE.add(1)",
        "m.STORE.count() == 1",
    ),
    left(
        "a-module-level-instance-memoizes-in-an-attribute",
        LAZY.format(1),
        LAZY.format(2),
        "m.CFG.get()",
        "m.CFG.get() == 1",
    ),
    left(
        "a-module-level-instance-has-a-cached-property",
        CACHED.format(1),
        CACHED.format(2),
        "m.C1.v",
        "m.C1.v == 1",
    ),
    left(
        "a-class-attribute-list-appended-through-self",
        BAG.format("x"),
        BAG.format("x + 1"),
        "m.Bag().add(1)",
        "m.Bag.items == [1]",
    ),
    left(
        "a-class-counter-raised-through-type-of-self",
        COUNTED.format(1),
        COUNTED.format(2),
        "m.Counted()",
        "m.Counted.count == 1",
    ),
    left(
        "a-module-level-closure-counts-calls",
        CLOSURE.format(""),
        CLOSURE.format("\n    counter()"),
        "m.bump()",
        "m.counter() == 2",
    ),
    case(
        "a-check-added-to-a-test-file-found-through-globals",
        {"tests/test_g.py": CHECKS},
        {"tests/test_g.py": CHECKS + "\n\ndef check_two():\n    return False\n"},
        "tests/test_g.py::test_all",
    ),
    case(
        "a-module-scoped-fixture-object-filled-by-an-earlier-test",
        {"pkg/m.py": ADD_TO.format("x"), "tests/test_f.py": FIXTURE},
        {"pkg/m.py": ADD_TO.format("x + 1")},
        "tests/test_f.py::test_b",
        f"{SHARED}: a fixture's object filled through an argument",
    ),
    case(
        "a-hook-of-a-project-plugin-loaded-with-p",
        {
            "pyproject.toml": ADDOPTS,
            "tests/__init__.py": "",
            "tests/plug.py": PLUGIN.format("slow"),
            "tests/test_p.py": "def test_slow():\n    assert False\n",
        },
        {"tests/plug.py": PLUGIN.format("nothing")},
        "tests/test_p.py::test_slow",
        "a plugin named by -p is no global input as a conftest.py is; its hooks run in no test",
    ),
    case(
        "a-test-added-to-a-base-class-another-test-file-subclasses",
        {
            "tests/__init__.py": "",
            "tests/test_base.py": BASE_TESTS,
            "tests/test_child.py": CHILD_TESTS,
        },
        {
            "tests/test_base.py": BASE_TESTS
            + "\n    def test_new(self):\n        assert self.value == 2\n"
        },
        "tests/test_child.py::TestChild::test_new",
    ),
    case(
        "a-test-added-before-an-earlier-one-fills-a-session-fixture",
        {"tests/conftest.py": SESSION_ITEMS, "tests/test_s.py": READS_ITEMS},
        {"tests/test_s.py": "def test_a(items):\n    items.append(1)\n\n\n" + READS_ITEMS},
        "tests/test_s.py::test_b",
        f"{SHARED}: the added test runs first and fills a session fixture's list",
    ),
    case(
        "a-test-compares-a-function-code-object",
        {
            "pkg/m.py": WORK.format(1),
            "tests/test_c.py": CODE,
        },
        {"pkg/m.py": WORK.format(2)},
        "tests/test_c.py::test_c",
        "the test reads work.__code__ without running its body, and only the skeleton is charged",
    ),
    case(
        "a-new-module-found-by-pkgutil",
        {
            "pkg/plugins/__init__.py": DISCOVER,
            "pkg/plugins/a.py": "",
            "tests/test_d.py": NAMES,
        },
        {"pkg/plugins/b.py": ""},
        "tests/test_d.py::test_d",
        "a directory listing is not recorded, so a file added to it selects nothing",
    ),
    case(
        "a-new-data-file-counted-by-listdir",
        {
            "data/a.txt": "a",
            "tests/test_l.py": LISTED,
        },
        {"data/b.txt": "b"},
        "tests/test_l.py::test_l",
        "a directory listing is not recorded, so a file added to it selects nothing",
    ),
]


@pytest.mark.parametrize(("files", "change", "test"), CASES)
def test_a_change_that_alters_a_test_outcome_selects_the_test(
    tmp_path: Path, files: dict[str, str], change: dict[str, str | None], test: str
) -> None:
    assert selects(tmp_path, files, change, test)
