"""``fastci inventory``: list the suite's test files, or with --collect its tests."""

from __future__ import annotations

import argparse
import json

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode

NAME = "inventory"
HELP = "list the test files pytest would collect (importing none), or every test with --collect"
PYTEST_ARGS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "group_markers", "pytest_args")
    parser.add_argument(
        "--collect", action="store_true", help="collect every test (imports the test modules)"
    )
    parser.add_argument("--json", action="store_true", help="print the inventory as JSON")


def run(args: argparse.Namespace) -> int:
    from fastci.plan.suite import inventory_for

    config = load_config(args)
    inventory = inventory_for(config, args.passthrough, collect=args.collect)
    if args.json:
        print(json.dumps(inventory.to_json(), indent=1, sort_keys=True))
    elif inventory.items is not None:
        for item in inventory.items:
            print(item.id)
        print(f"{len(inventory.items)} tests in {len(inventory.files)} files")
    else:
        for file in inventory.files:
            print(file.path)
        print(f"{len(inventory.files)} test files")
    empty = not inventory.files if inventory.items is None else not inventory.items
    return ExitCode.NO_TESTS_COLLECTED if empty else ExitCode.OK
