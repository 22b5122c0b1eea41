"""``fastci affected``: the tests a change can affect, by the dependencies recorded at a commit."""

from __future__ import annotations

import argparse
import json
import sys

from fastci.affected.options import add_base_argument
from fastci.affected.select import selection_for
from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode

NAME = "affected"
HELP = "list the tests a change can affect, from the dependencies recorded at a commit"
PYTEST_ARGS = True
SETTINGS = ("store", "always_run", "inputs", "affected_env", "pytest_args")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "fastci affected [--base REF] [--explain] [--json] [PYTEST_ARGS ...]"
    add_base_argument(parser)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="say per selected test which change or rule selected it, per skipped file why",
    )
    parser.add_argument("--json", action="store_true", help="print the selection as JSON")
    add_setting_arguments(parser, *SETTINGS)


def run(args: argparse.Namespace) -> int:
    from fastci.affected.explain import explain, summary_line

    config = load_config(args)
    selection, note = selection_for(config, args.base, args.passthrough)
    if args.json:
        print(json.dumps(selection.to_json(), indent=2))
        return ExitCode.OK
    print(summary_line(selection, note), file=sys.stderr)
    if args.explain:
        print("\n".join(explain(selection)))
    else:
        print("\n".join(selection.selected))
    return ExitCode.OK
