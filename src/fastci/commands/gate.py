"""``fastci gate``: answer run or skip for this change, from the project's path filters."""

from __future__ import annotations

import argparse
import os
import sys

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode, UsageError

NAME = "gate"
HELP = (
    "decide whether this change needs the pipeline: exit 0 (run) or 9 (skip), "
    "with run=true|false appended to $GITHUB_OUTPUT when set"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(
        parser, "changes.default-branch", "gate.include", "gate.extend-include", "gate.exclude"
    )
    parser.add_argument(
        "--base", metavar="REF", help="branch, tag or commit the change is measured from"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every changed path and its pattern"
    )


def run(args: argparse.Namespace) -> int:
    from fastci.changes.diff import find_changes
    from fastci.changes.gate import GateRules, decide, explain

    config = load_config(args)
    rules = GateRules.from_config(config)
    changes = find_changes(config.root, args.base, config.changes_default_branch)
    verdict = decide(changes, rules, config.root)
    for line in changes.fetched:
        print(f"fastci: {line}", file=sys.stderr)
    if args.verbose and not changes.everything:
        for path, pattern in explain(changes, rules, config.root):
            print(
                f"  {'run ' if pattern else 'skip'}  {path}" + (f"  ({pattern})" if pattern else "")
            )
    print(f"{'run' if verdict.run else 'skip'}: {verdict.reason}")
    write_github_output(verdict.run)
    return ExitCode.OK if verdict.run else ExitCode.GATE_SKIP


def write_github_output(run: bool) -> None:
    """Append run=true|false to the step outputs file GitHub Actions names, when it names one."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"run={'true' if run else 'false'}\n")
    except OSError as e:
        raise UsageError(f"cannot append to $GITHUB_OUTPUT ({path}): {e.strerror}") from None
