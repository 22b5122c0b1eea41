"""Safety and savings of `fastci affected` beside pytest-testmon, on real projects' history.

    python bench/affected.py [--commits 50] [--mutations 100] [--projects tomli,more-itertools]
        [--work DIR] [--seed 1]

For each project (its real git history, from the local mirror or GitHub; a virtualenv with
pytest, pytest-testmon, fastci from this checkout and the project, kept under the work
directory):

1. Replay ``--commits`` consecutive first-parent commits. At each parent P fastci's data is
   recorded (`fastci run --record-deps`, the full suite) and pytest-testmon's data is what
   its own run at P left. At the commit C: `fastci affected --base P --json` says what
   fastci would run, `pytest --testmon` runs what testmon selects, and plain pytest runs
   the full suite for the ground truth.
2. Inject ``--mutations`` mutations (bench/affected_mutants.py: a constant, an operator, a
   comparison, a boolean or a return value changed, drawn with ``--seed``) into the
   package's source at the last replayed commit, one at a time, each against the data
   recorded there; testmon starts from a copy of its data at that commit every time.

A missed failure is a test failing in the full run (or a test file failing to collect)
that the selector did not select. The fraction of test time is the selected tests' share
of the full run's seconds, per commit or mutation; the medians over single-commit changes
are printed beside the targets (0 misses, <= 0.25 of the time).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from affected_mutants import Mutant, sample
from affected_project import SPECS, Outcomes, Project, Selection
from suite import DEFAULT_WORK

TOOLS = ("fastci", "testmon")


@dataclasses.dataclass
class Case:
    """One commit or mutation: the full run's failures and each tool's choice of tests."""

    project: str
    kind: str  # commit | mutation
    label: str
    failing: list[str]
    fraction: dict[str, float] = dataclasses.field(default_factory=dict)
    missed: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    note: str = ""


def judge(
    case: Case, tool: str, truth: Outcomes, chosen: Selection | str, timing: Outcomes
) -> None:
    """Fill in one tool's fraction of time (of ``timing``'s seconds: the full run's, or the
    base's when the full run ran nothing) and missed failures for ``case``."""
    if isinstance(chosen, str):  # the tool failed: count it as running everything
        case.note = chosen
        chosen = Selection(frozenset(), everything=chosen)
    if chosen.everything is not None:
        case.fraction[tool] = 1.0
        case.note = case.note or f"{tool} ran everything: {chosen.everything}"
    else:
        case.fraction[tool] = timing.seconds(chosen) / (timing.seconds() or 1.0)
    case.missed[tool] = sorted(f for f in case.failing if not chosen.covers(f))


def replay(project: Project, count: int) -> tuple[list[Case], str]:
    """Every commit of the replay judged; returns them and the last commit."""
    commits = project.commits(count)
    (project.home / "cases.jsonl").unlink(missing_ok=True)
    project.store.unlink(missing_ok=True)
    project.testmon_data.unlink(missing_ok=True)
    project.checkout(commits[0])
    project.testmon(project.testmon_data)
    project.record()
    cases = []
    for parent, commit in itertools.pairwise(commits):
        project.checkout(commit)
        truth = project.pytest()
        case = Case(project.spec.name, "commit", commit[:10], sorted(truth.failing))
        judge(case, "fastci", truth, project.affected(parent), truth)
        judge(case, "testmon", truth, project.testmon(project.testmon_data), truth)
        changed = project.changed_files(parent, commit)
        case.note = case.note or f"{len(changed)} files: {' '.join(changed[:4])}"
        cases.append(case)
        show(case, project)
        project.record()
    return cases, commits[-1]


def mutate(project: Project, base: str, count: int, seed: int) -> list[Case]:
    """``count`` mutants of the package at ``base`` (data recorded there), each judged."""
    project.checkout(base)
    unchanged = project.pytest()
    root = project.repo
    sources = sorted(str(p.relative_to(root)) for p in (root / project.spec.source).rglob("*.py"))
    cases = []
    for mutant in sample(root, sources, count, seed):
        original = mutant.apply(root)
        try:
            cases.append(judge_mutant(project, base, mutant, unchanged))
        finally:
            (root / mutant.path).write_text(original)
        show(cases[-1], project)
    return cases


def judge_mutant(project: Project, base: str, mutant: Mutant, unchanged: Outcomes) -> Case:
    truth = project.pytest()
    timing = truth if truth.tests else unchanged
    case = Case(project.spec.name, "mutation", mutant.describe(), sorted(truth.failing))
    judge(case, "fastci", truth, project.affected(base), timing)
    # testmon starts from its data at the base every time, not from the last mutant's
    scratch = project.copy_testmon(project.home / "testmondata.mutant")
    judge(case, "testmon", truth, project.testmon(scratch), timing)
    return case


def show(case: Case, project: Project) -> None:
    """Print the case's line, and keep the case in the project's ``cases.jsonl`` so a run cut
    short still has its figures."""
    with (project.home / "cases.jsonl").open("a", encoding="utf-8") as kept:
        kept.write(json.dumps(dataclasses.asdict(case)) + "\n")
    parts = [f"{t} {case.fraction[t]:.2f} missed {len(case.missed[t])}" for t in TOOLS]
    print(
        f"{case.project} {case.kind} {case.label}: {len(case.failing)} failing; "
        + "; ".join(parts)
        + (f" ({case.note})" if case.kind == "commit" or "everything" in case.note else ""),
        flush=True,
    )


def summary(title: str, cases: Sequence[Case]) -> list[str]:
    """The figures for a group of cases, one line per measure."""
    commits = [c for c in cases if c.kind == "commit"]
    mutations = [c for c in cases if c.kind == "mutation"]
    lines = [
        f"== {title}: {len(commits)} commits, {len(mutations)} mutations",
        f"   failing tests in the full runs: commits {sum(len(c.failing) for c in commits)}, "
        f"mutations {sum(len(c.failing) for c in mutations)} "
        f"({sum(1 for c in mutations if c.failing)} mutations broke a test)",
    ]
    failed = sum(1 for c in cases if c.note.startswith("fastci affected exited"))
    if failed:
        lines.append(f"   fastci affected failed {failed} times (counted as running everything)")
    for tool in TOOLS:
        missed = sum(len(c.missed[tool]) for c in cases)
        lines.append(
            f"   {tool:8} missed failures {missed} (target 0 for fastci); median fraction "
            f"of test time: commits {_median(commits, tool)}, mutations "
            f"{_median(mutations, tool)} (target <= 0.25 on commits)"
        )
    return lines


def _median(cases: Sequence[Case], tool: str) -> str:
    return f"{statistics.median(c.fraction[tool] for c in cases):.3f}" if cases else "-"


def misses(cases: Sequence[Case]) -> list[str]:
    """Every missed failure, precisely: tool, project, commit or mutation, test."""
    return [
        f"MISSED by {tool}: {c.project} {c.kind} {c.label}: {test}"
        for c in cases
        for tool in TOOLS
        for test in c.missed[tool]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=50, help="commits replayed per project")
    parser.add_argument("--mutations", type=int, default=100, help="mutations per project")
    parser.add_argument("--projects", default=",".join(SPECS), help="comma-separated")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK / "affected")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    unknown = set(args.projects.split(",")) - set(SPECS)
    if unknown:
        parser.error(f"unknown project(s) {sorted(unknown)}; known: {', '.join(SPECS)}")
    every: list[Case] = []
    report: list[str] = []
    for name in args.projects.split(","):
        project = Project(SPECS[name], args.work)
        project.prepare()
        cases, last = replay(project, args.commits)
        cases += mutate(project, last, args.mutations, args.seed)
        every += cases
        report += summary(name, cases)
    report += summary("overall", every)
    (args.work / "cases.json").write_text(
        json.dumps([dataclasses.asdict(c) for c in every], indent=1)
    )
    print("\n".join([*misses(every), *report]))


if __name__ == "__main__":
    main()
