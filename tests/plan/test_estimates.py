"""Estimates for tests the store has never seen come from their nearest known neighbours."""

from __future__ import annotations

from fastci.plan.estimates import Estimator


def test_a_test_never_seen_gets_its_files_then_directorys_then_the_suites_typical() -> None:
    known = {
        "a/x/test_1.py::t1": ("a/x/test_1.py", 1.0, None),
        "a/x/test_1.py::t2": ("a/x/test_1.py", 3.0, None),
        "a/y/test_2.py::t3": ("a/y/test_2.py", 10.0, None),
        "b/test_3.py::t4": ("b/test_3.py", 100.0, None),
    }
    estimator = Estimator(known)
    assert estimator.test("a/x/test_1.py::new", "a/x/test_1.py") == 2.0
    assert estimator.test("a/y/test_new.py::new", "a/y/test_new.py") == 10.0
    assert estimator.test("a/z/test_new.py::new", "a/z/test_new.py") == 3.0  # directory a/
    assert estimator.test("c/test_new.py::new", "c/test_new.py") == 6.5  # the whole suite
