"""``fastci doctor``: check the project's fastci setup and say what to do about it."""

from __future__ import annotations

import argparse

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode

NAME = "doctor"
HELP = (
    "check the setup: timings store age and coverage, the deps key and its wheelhouse, path "
    "filters that match nothing, tests that pass and fail by turns, workflow drift "
    "(exit 1 when something is worth fixing)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "store", "estimate_window")


def run(args: argparse.Namespace) -> int:
    from fastci.ci.doctor import check_all

    config = load_config(args)
    findings = check_all(config)
    width = max((len(f.topic) for f in findings), default=0)
    for finding in findings:
        print(f"{finding.level:7}  {finding.topic:<{width}}  {finding.message}")
    problems = sum(1 for f in findings if f.level == "problem")
    print(f"{problems} problem{'s' if problems != 1 else ''} found")
    return ExitCode.TESTS_FAILED if problems else ExitCode.OK
