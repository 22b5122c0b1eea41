"""An addition to a test file counts as added tests only when its name is new to its scope:
nothing it shadows, overrides or replaces, so no earlier test can reach it."""

from __future__ import annotations

import pytest

from fastci.affected.added import added_tests
from fastci.affected.units import fingerprint, parse

BEFORE = """\
import unittest

from pkg import helper


def test_a():
    assert helper() == 1


class TestPlain:
    def test_b(self):
        pass


class TestCaseLike(unittest.TestCase):
    def test_c(self):
        pass


class TestSub(TestPlain):
    def other(self):
        pass
"""


WITHOUT_SUB = BEFORE[: BEFORE.index("\n\nclass TestSub")]


def between(before: str, after: str) -> set[str] | None:
    """What added_tests finds when the test file ``before`` becomes ``after``."""
    old, new = parse(before), parse(after)
    assert old is not None
    assert new is not None
    return added_tests(fingerprint(old), new)


def added(addition: str, before: str = BEFORE) -> set[str] | None:
    """What added_tests finds when ``addition`` is appended to ``before``."""
    return between(before, before + addition)


@pytest.mark.parametrize(
    ("addition", "names"),
    [
        ("\n\ndef test_new():\n    pass\n", {"test_new"}),
        ("\n\ndef fresh_helper():\n    return 2\n", {"fresh_helper"}),
        ("\n\nclass TestNew:\n    def test_d(self):\n        pass\n", {"TestNew"}),
        (
            "\n\nclass TestNewCase(unittest.TestCase):\n    def test_d(self):\n        pass\n",
            {"TestNewCase"},
        ),
    ],
)
def test_a_new_name_at_module_level_counts_as_added(addition: str, names: set[str]) -> None:
    assert added(addition) == names


def test_a_method_new_to_a_class_without_bases_counts_as_added() -> None:
    method = "    def test_b(self):\n        pass\n"
    after = BEFORE.replace(method, f"{method}\n    def fresh(self):\n        pass\n")
    assert between(BEFORE, after) == {"TestPlain.fresh"}


def test_a_test_new_to_a_testcase_counts_as_added() -> None:
    assert added("\n    def test_e(self):\n        pass\n", WITHOUT_SUB) == {"TestCaseLike.test_e"}


@pytest.mark.parametrize(
    "addition",
    [
        "\n\ndef helper():\n    return 2\n",  # shadows the import
        "\n\ndef open(path):\n    return path\n",  # shadows a builtin
        "\n\nclass helper:\n    def __call__(self):\n        return 2\n",
        "\n    def value(self):\n        return 2\n",  # TestSub overrides what TestPlain has
        "\n    def test_b(self):\n        assert False\n",  # TestSub overrides an inherited test
    ],
)
def test_an_addition_whose_name_existed_before_is_not_counted_as_added(addition: str) -> None:
    assert added(addition) is None


def test_a_helper_added_to_a_testcase_is_not_counted_as_added() -> None:
    assert added("\n    def assertEqual(self, a, b):\n        pass\n", WITHOUT_SUB) is None


def test_nothing_added_after_a_star_import_counts_as_added() -> None:
    assert (
        added("\n\ndef fresh_helper():\n    return 2\n", "from os.path import *\n" + BEFORE) is None
    )


def test_a_new_class_with_a_base_that_may_register_it_is_not_counted_as_added() -> None:
    assert added("\n\nclass TestMore(TestPlain):\n    def test_f(self):\n        pass\n") is None


def test_nothing_added_to_a_file_that_looks_through_its_namespace_counts_as_added() -> None:
    checks = "\n\ndef test_checks():\n    assert all(f() for n, f in globals().items())\n"
    assert added("\n\ndef check_new():\n    return False\n", BEFORE + checks) is None


def test_nothing_added_to_a_file_that_gets_an_attribute_by_a_computed_name_counts() -> None:
    lookup = "\n\ndef test_lookup():\n    assert getattr(TestPlain(), 'test_' + 'b')() is None\n"
    assert added("\n\ndef fresh_helper():\n    return 2\n", BEFORE + lookup) is None


def test_vars_of_an_object_the_code_under_test_returned_does_not_stop_tests_being_added() -> None:
    slots = (
        "\n\ndef test_slots():\n    result = object()\n"
        "    assert not hasattr(result, '__dict__') or vars(result)\n"
    )
    assert added("\n\ndef test_new():\n    pass\n", BEFORE + slots) == {"test_new"}
