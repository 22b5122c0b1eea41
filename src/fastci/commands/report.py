"""``fastci report``: the HTML report of result bundles, without merging anything anywhere."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fastci.commands.merge import add_bundle_arguments
from fastci.config import load_config
from fastci.errors import ExitCode
from fastci.files import write_atomically

NAME = "report"
HELP = "write the HTML report of result bundles (the timings store is left alone)"
EPILOG = """\
exit codes: 0 the report was written, whatever it shows (fastci merge gives the verdict);
4 usage error.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_bundle_arguments(parser)
    parser.add_argument(
        "--html",
        type=Path,
        required=True,
        metavar="PATH",
        help="write the self-contained HTML report here",
    )


def run(args: argparse.Namespace) -> int:
    from fastci.merge.bundles import load_bundles, merge_coverage
    from fastci.merge.coverage import CoverageRequest
    from fastci.plan.quarantine import Judge
    from fastci.report.html import render_html
    from fastci.report.overview import build_overview

    config = load_config(args)
    judge = Judge(config.quarantine, config.allow_flaky)  # the verdict fastci merge gives
    bundle_set = load_bundles(args.dirs, args.expect_shards, judge)
    with tempfile.TemporaryDirectory(prefix="fastci-report-") as scratch:
        nothing_written = CoverageRequest(source=None, reports=())
        coverage, problems = merge_coverage(
            bundle_set.bundles, config.root, nothing_written, Path(scratch)
        )
    overview = build_overview(config.root.name, bundle_set, coverage, problems)
    path: Path = args.html
    write_atomically(path, render_html(overview))
    for problem in overview.problems:
        print(f"fastci: {problem.message}", file=sys.stderr)
    print(
        f"fastci: wrote {path} ({overview.verdict}: {len(overview.results)} tests, "
        f"{len(overview.shards)} shards)"
    )
    return ExitCode.OK
