"""The ``fastci`` command: parse arguments, run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from fastci import __version__
from fastci.config import add_root_argument
from fastci.errors import ExitCode, FastciError, UsageError, crash_line

# Each name is a module in fastci.commands with NAME, HELP, add_arguments(parser) and
# run(args) -> int. A module with PYTEST_ARGS = True gets every argument that is not one of
# its own flags, in order, as args.passthrough. Command modules import heavy things in run().
COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "merge",
    "report",
    "plan",
    "timings",
    "inventory",
    "changes",
    "gate",
    "workflow",
    "deps",
    "pipeline",
    "doctor",
    "flaky",
    "bisect",
    "affected",
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports bad usage as a UsageError (exit 4), never exiting by itself."""

    subcommands: dict[str, ArgumentParser]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def load_commands() -> list[ModuleType]:
    return [importlib.import_module(f"fastci.commands.{name}") for name in COMMAND_MODULES]


def split_pytest_args(
    parser: argparse.ArgumentParser, argv: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Separate a command's own flags (with their values) from the arguments meant for pytest.

    Everything after ``--`` is pytest's. ``-j4`` and ``--shards=4`` forms are recognised.
    """
    takes_value: dict[str, bool] = {}
    for action in parser._actions:  # argparse offers no public view of its options
        for option in action.option_strings:
            takes_value[option] = action.nargs != 0
    ours: list[str] = []
    theirs: list[str] = []
    args_left = iter(argv)
    for arg in args_left:
        if arg == "--":
            theirs.extend(args_left)
            break
        name = arg.split("=", 1)[0]
        if name not in takes_value and not arg.startswith("--") and arg[:2] in takes_value:
            name = arg[:2]  # a short option with its value attached: -j4
        if name not in takes_value:
            theirs.append(arg)
            continue
        ours.append(arg)
        if takes_value[name] and arg == name:
            value = next(args_left, None)
            if value is not None:
                ours.append(value)
    return ours, theirs


def build_parser(commands: Sequence[ModuleType]) -> ArgumentParser:
    parser = ArgumentParser(
        prog="fastci",
        description="Fast CI for pytest projects. Exit codes: 0 ok, 1 tests failed, "
        "2 interrupted, 3 internal error, 4 usage error, 5 no tests collected, "
        "6 coverage under threshold, 7 results incomplete, 8 dependencies failed, "
        "9 gate: nothing to run.",
    )
    parser.add_argument("--version", action="version", version=f"fastci {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=ArgumentParser
    )
    parser.subcommands = {}
    for command in commands:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        parser.subcommands[command.NAME] = sub
        add_root_argument(sub)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run, passthrough=[])
        sub.set_defaults(takes_pytest_args=getattr(command, "PYTEST_ARGS", False))
    return parser


def parse(parser: ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse argv; for commands that run pytest, unknown arguments become args.passthrough."""
    command = next((a for a in argv if not a.startswith("-")), None)
    sub = parser.subcommands.get(command) if command else None
    if sub is None or not sub.get_default("takes_pytest_args"):
        return parser.parse_args(argv)
    position = argv.index(str(command))
    ours, theirs = split_pytest_args(sub, argv[position + 1 :])
    args = parser.parse_args([*argv[: position + 1], *ours])
    args.passthrough = theirs
    return args


@contextlib.contextmanager
def _working_directory(directory: str | None) -> Iterator[None]:
    """``--root DIR`` works like ``cd DIR``; the caller's directory is back afterwards."""
    if not directory:
        yield
        return
    previous = os.getcwd()
    try:
        os.chdir(directory)
    except OSError as e:
        raise UsageError(f"--root {directory}: {e.strerror}") from None
    try:
        yield
    finally:
        os.chdir(previous)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root: str | None = None
    try:
        parser = build_parser(load_commands())
        if not argv:
            parser.print_help()
            return ExitCode.USAGE_ERROR
        args = parse(parser, argv)
        root = args.root
        with _working_directory(args.root):
            return int(args.handler(args))
    except FastciError as e:
        if e.details:
            print(e.details.rstrip(), file=sys.stderr)
        print(f"fastci: error: {e.message}", file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt:
        print("fastci: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as e:  # a bug in fastci: one line, the details in a crash log
        print(crash_line(e, argv, Path(root or ".")), file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)
