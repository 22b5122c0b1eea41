"""Checks of a project's fastci setup, each a finding a person can act on."""

from __future__ import annotations

import dataclasses
import difflib
import shlex
import time
from collections.abc import Callable, Iterable, Iterator

from fastci.config import Config
from fastci.errors import FastciError

STALE_DAYS = 14
LOW_COVERAGE = 0.8  # share of the suite's test files the store knows
MIXED_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class Finding:
    topic: str
    level: str  # "ok", "note" (worth knowing) or "problem" (worth fixing)
    message: str


def check_all(config: Config) -> list[Finding]:
    checks = (check_store, check_deps, check_gate, check_outcomes, check_workflows)
    return [finding for check in checks for finding in _run_check(check, config)]


def _run_check(check: Callable[[Config], Iterable[Finding]], config: Config) -> list[Finding]:
    """The check's findings; one check that cannot run does not hide the others."""
    try:
        return list(check(config))
    except FastciError as e:
        return [Finding(check.__name__[6:], "problem", e.message)]


def check_store(config: Config) -> Iterator[Finding]:
    """Is there a timings store, is it recent, and does it know the suite as it is now?"""
    from fastci.plan.inventory import discover_files
    from fastci.plan.store import TimingsStore
    from fastci.plan.suite import Knowledge

    path = config.store_path
    if not path.exists():
        yield Finding("timings", "note", f"no timings store at {path} yet: the first run plans "
                      "by file size; any fastci run (or fastci merge) starts it")  # fmt: skip
        return
    with TimingsStore(path, window=config.estimate_window) as store:
        knowledge = Knowledge.from_store(store)
        newest = store.newest_run()
    if newest is not None:
        days = (time.time() - newest) / 86400
        level = "note" if days > STALE_DAYS else "ok"
        yield Finding("timings", level, f"newest run in the store is {days:.1f} days old")
    # The files alone, found without importing any: a full collection would tell no more.
    inventory = discover_files(config.workdir, config.pytest_args, config.group_markers)
    files = [f.path for f in inventory.files]
    known = [f for f in files if f in knowledge.files and knowledge.files[f].count]
    share = len(known) / len(files) if files else 1.0
    level = "ok" if share >= LOW_COVERAGE else "note"
    yield Finding(
        "timings", level,
        f"the store knows {len(known)} of the suite's {len(files)} test files ({share:.0%}); "
        f"{len(knowledge.tests)} tests have estimates",
    )  # fmt: skip


def check_deps(config: Config) -> Iterator[Finding]:
    """The dependency key, and whether a wheelhouse for it exists here."""
    from fastci.deps.inputs import read_sources
    from fastci.deps.interpreter import probe
    from fastci.deps.key import compute_key
    from fastci.deps.wheelhouse import read_manifest

    key = compute_key(read_sources(config), probe(None))
    directory = config.wheelhouse_root / key.value
    if read_manifest(directory) is None:
        yield Finding("deps", "note", f"no wheelhouse for the current key {key.value}: "
                      "fastci deps build makes one")  # fmt: skip
    else:
        yield Finding("deps", "ok", f"wheelhouse for the current key: {directory}")


def check_gate(config: Config) -> Iterator[Finding]:
    """Path filters of the project's own that match no file can never decide anything."""
    from fastci.changes import git
    from fastci.changes.gate import GateRules, project_path, unmatched_patterns

    repo = git.toplevel(config.root)
    if repo is None:
        yield Finding("gate", "note", "not a git repository: the gate cannot see changes")
        return
    inside = config.root.resolve()
    paths = [
        project_path(p, repo, config.root)
        for p in git.tracked(repo)
        if (repo / p).resolve().is_relative_to(inside)
    ]
    configured = (
        ("include", (config.gate_include or ()) + config.gate_extend_include),
        ("exclude", config.gate_exclude),
    )
    for kind, patterns in configured:
        for pattern in unmatched_patterns(patterns, paths, kind):
            yield Finding("gate", "problem", f"[tool.fastci.gate] {kind} pattern {pattern!r} "
                          "matches no tracked file")  # fmt: skip
    rules = GateRules.from_config(config)
    yield Finding("gate", "ok", f"{len(rules.include)} include and {len(rules.exclude)} "
                  f"exclude patterns over {len(paths)} tracked files")  # fmt: skip


def check_outcomes(config: Config) -> Iterator[Finding]:
    """Tests that passed and failed on the same code, or passed only when rerun: flaky (or
    order-dependent, when the flakes were in different shards)."""
    from fastci.plan.flakiness import flaky_tests
    from fastci.plan.store import TimingsStore

    if not config.store_path.exists():
        return
    with TimingsStore(config.store_path, window=config.estimate_window) as store:
        flaky = flaky_tests(store.outcome_history())
    if not flaky:
        yield Finding("outcomes", "ok", "no test both passed and failed on the same code")
        return
    across_shards = [f for f in flaky if len(f.shards) > 1]
    examples = ", ".join(f"{f.test_id} ({f.flakes}/{f.runs})" for f in flaky[:MIXED_SHOWN])
    yield Finding(
        "outcomes", "problem",
        f"{len(flaky)} flaky tests: passed and failed on the same code ({len(across_shards)} "
        f"of them in different shards, a sign of hidden order dependence): {examples}; "
        "see `fastci flaky`",
    )  # fmt: skip


def check_workflows(config: Config) -> Iterator[Finding]:
    """Does each workflow fastci wrote still match what fastci would write for it now?"""
    from fastci.ci import github, gitlab
    from fastci.ci.workflow import hand_edited

    for provider, writer in (("github", github), ("gitlab", gitlab)):
        path = config.root / writer.WORKFLOW_PATH
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        command = _writing_command(text)
        if command is None:
            yield Finding("workflow", "note", f"{path} was not written by fastci workflow")
            continue
        fresh = _render_again(config, provider, command)
        if fresh == text:
            yield Finding("workflow", "ok", f"{path} is what `{command}` writes")
            continue
        changed = sum(
            1 for line in difflib.unified_diff(text.splitlines(), fresh.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )  # fmt: skip
        why = "edited by hand" if hand_edited(text) else "written by another fastci version"
        yield Finding(
            "workflow", "problem",
            f"{path} differs from what `{command}` writes now in {changed} lines ({why}); "
            f"rerun it to see the difference",
        )  # fmt: skip


def _writing_command(text: str) -> str | None:
    for line in text.splitlines()[:5]:
        if "Written by `fastci workflow" in line:  # the command may hold backticks itself
            return line.split("`", 1)[1].rpartition("` (fastci ")[0]
    return None


def _render_again(config: Config, provider: str, command: str) -> str:
    """The workflow the recorded command writes today, by the command's own parser."""
    import contextlib
    import io

    from fastci.cli import main

    words = shlex.split(command)[1:]  # without "fastci"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*words, "--stdout", "--root", str(config.root)])
    if code != 0:
        raise FastciError(f"`{command}` no longer runs here (exit {code})")
    return out.getvalue()
