"""``fastci timings``: fold reports into the store, export it, show what is slow."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.config import add_root_argument, add_setting_arguments, load_config
from fastci.errors import ExitCode
from fastci.files import write_atomically

if TYPE_CHECKING:
    from fastci.plan.store import TimingsStore

NAME = "timings"
HELP = "import timings reports into the store, export it, or show the slowest tests"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "store", "estimate_window")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import", help="fold timings reports into the store (the same report twice changes nothing)"
    )
    importing.add_argument(
        "reports",
        nargs="+",
        metavar="FILE",
        type=Path,
        help="a timings report: a bundle's timings.jsonl, or pytest --fastci-report's output",
    )
    exporting = actions.add_parser("export", help="write the whole store as one portable report")
    exporting.add_argument(
        "-o", "--output", type=Path, help="file to write (default: standard output)"
    )
    showing = actions.add_parser("show", help="list the slowest tests and files")
    showing.add_argument("-n", "--top", type=int, default=15, help="how many of each to list")
    for action in (importing, exporting, showing):
        add_root_argument(action, nested=True)
        add_setting_arguments(action, "store", "estimate_window", nested=True)


def run(args: argparse.Namespace) -> int:
    from fastci.plan.store import TimingsStore

    config = load_config(args)
    if args.action == "show" and not config.store_path.exists():
        # Reading makes nothing: a mistyped --store must not leave a new store behind.
        print(f"no timings yet in {config.store_path}: run the suite with fastci run first")
        return ExitCode.OK
    with TimingsStore(config.store_path, window=config.estimate_window) as store:
        if args.action == "import":
            return _import(store, args.reports)
        if args.action == "export":
            return _export(store, args.output)
        return _show(store, args.top)


def _import(store: TimingsStore, paths: list[Path]) -> int:
    from fastci.results.timings import read_report

    runs = [run for path in paths for run in read_report(path)]
    result = store.import_runs(runs)
    print(
        f"imported {result.runs_new} new run(s) with {result.tests} test timings; "
        f"{result.runs_unchanged} already in the store"
    )
    return ExitCode.OK


def _export(store: TimingsStore, output: Path | None) -> int:
    from fastci.results.timings import export_runs

    runs = store.runs()
    if output is None:
        export_runs(runs, sys.stdout)
    else:
        buffer = io.StringIO()
        export_runs(runs, buffer)
        write_atomically(output, buffer.getvalue())
        print(f"exported {len(runs)} run(s) to {output}")
    return ExitCode.OK


def _show(store: TimingsStore, top: int) -> int:
    tests = store.current_tests()
    files = store.file_estimates(tests)
    if not tests:
        print(f"no timings yet in {store.path}: run the suite with fastci run first")
        return ExitCode.OK
    print(f"{len(tests)} tests in {len(files)} files; slowest tests:")
    slowest = sorted(tests.items(), key=lambda t: (-t[1][1], t[0]))[:top]
    for test_id, (_, seconds, _) in slowest:
        print(f"  {seconds:8.3f}s  {test_id}")
    print("slowest files (tests + import):")
    ranked = sorted(files.items(), key=lambda f: (-(f[1].tests + f[1].collect), f[0]))[:top]
    for file, estimate in ranked:
        print(
            f"  {estimate.tests + estimate.collect:8.3f}s  {file}  "
            f"({estimate.count} tests, import {estimate.collect:.3f}s)"
        )
    return ExitCode.OK
