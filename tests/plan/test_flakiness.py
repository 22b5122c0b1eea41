"""Flakiness judged per git tree: mixed outcomes on the same code, or a rerun's proof."""

from __future__ import annotations

from fastci.plan.flakiness import flaky_tests
from fastci.plan.store import OutcomeRow


def row(outcome: str, started: float, tree: str | None, test: str = "t.py::x") -> OutcomeRow:
    commit = None if tree is None else f"commit-of-{tree}"
    return OutcomeRow(test, outcome, started, None, commit, tree)


def test_a_pass_and_a_failure_on_one_tree_are_a_flake_of_that_commit() -> None:
    (found,) = flaky_tests([row("passed", 1, "A"), row("failed", 2, "A"), row("passed", 3, "A")])
    assert (found.flakes, found.runs, found.last_commit, found.last_passes) == (
        1, 3, "commit-of-A", 1,
    )  # fmt: skip


def test_a_failure_on_one_tree_and_a_pass_on_another_are_no_flake() -> None:
    assert flaky_tests([row("failed", 1, "A"), row("passed", 2, "B")]) == []


def test_runs_without_a_tree_never_compare_but_a_rerun_flake_counts() -> None:
    assert flaky_tests([row("failed", 1, None), row("passed", 2, None)]) == []
    (found,) = flaky_tests([row("flaky", 1, None), row("passed", 2, None)])
    assert (found.last_commit, found.rate) == ("no git", 0.5)


def test_the_flakiest_test_comes_first() -> None:
    rows = [row("flaky", 1, "A", "t.py::rare"), *[row("passed", n, "A", "t.py::rare")
            for n in range(2, 6)], row("flaky", 1, "A", "t.py::often")]  # fmt: skip
    assert [f.test_id for f in flaky_tests(rows)] == ["t.py::often", "t.py::rare"]
