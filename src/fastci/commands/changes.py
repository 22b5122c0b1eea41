"""``fastci changes``: list the paths changed since the base of this change."""

from __future__ import annotations

import argparse
import json
import sys

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode, UsageError

NAME = "changes"
HELP = (
    "list the paths changed since the merge base with the base branch "
    "(on CI: the pull request's base, or the commit before the push)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "changes.default-branch")
    parser.add_argument(
        "--base",
        metavar="REF",
        help="branch, tag or commit the change is measured from (overrides CI and the default)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("-z", action="store_true", help="end each path with NUL, not newline")
    output.add_argument("--json", action="store_true", help="print the change set as JSON")


def run(args: argparse.Namespace) -> int:
    from fastci.changes.diff import find_changes

    config = load_config(args)
    changes = find_changes(config.root, args.base, config.changes_default_branch)
    if changes.repo_root is None:
        raise UsageError(
            f"{config.root} is {changes.everything_reason}: fastci changes compares commits, "
            "so run it inside a git checkout"
        )
    for line in changes.fetched:
        print(f"fastci: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(changes.to_json(), indent=1))
        return ExitCode.OK
    if changes.everything:
        print(f"fastci: every path counts as changed: {changes.everything_reason}", file=sys.stderr)
    else:
        count = len(changes.paths)
        print(
            f"fastci: {count} path{'s' if count != 1 else ''} changed since "
            f"{changes.described} (merge base {str(changes.base)[:12]})",
            file=sys.stderr,
        )
    end = "\0" if args.z else "\n"
    sys.stdout.write("".join(path + end for path in changes.paths))
    return ExitCode.OK
