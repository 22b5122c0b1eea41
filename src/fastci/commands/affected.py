"""``fastci affected``: the tests a change can affect, by the dependencies recorded at a commit."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from fastci.config import Config, add_setting_arguments, load_config
from fastci.errors import ExitCode

if TYPE_CHECKING:
    from fastci.affected.select import Selection

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


def add_base_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="REF",
        help="compare with the data recorded at this commit (default: the newest recorded "
        "ancestor of HEAD)",
    )


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


def selection_for(
    config: Config, base: str | None, pytest_args: list[str]
) -> tuple[Selection, str]:
    """The selection for the suite pytest would collect with ``pytest_args``, and a note."""
    from fastci.affected.base import load_recording
    from fastci.affected.select import select
    from fastci.plan.inventory import discover_files

    data, note = load_recording(config.store_path, config.root, base)
    inventory = discover_files(config.workdir, [*config.pytest_args, *pytest_args],
                               config.group_markers)  # fmt: skip
    return select(config, data, [f.path for f in inventory.files]), note
