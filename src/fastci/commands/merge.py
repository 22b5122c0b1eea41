"""``fastci merge``: one verdict, coverage, JUnit, timings and report from every shard's bundle."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.affected.hooks import merge_notes
from fastci.affected.verdict import nothing_affected
from fastci.config import add_setting_arguments, argparse_type, load_config
from fastci.errors import ExitCode, FastciError, UsageError
from fastci.files import writable_directory, write_atomically
from fastci.merge.coverage import DEFAULT_REPORTS, FULL_COVERAGE, REPORT_FILES, CoverageRequest
from fastci.settings import shard_count

if TYPE_CHECKING:
    from fastci.config import Config
    from fastci.merge.bundles import BundleSet
    from fastci.plan.quarantine import Judge
    from fastci.results.bundle import Bundle

NAME = "merge"
HELP = "merge the shards' result bundles: one verdict, coverage, JUnit XML, timings, report"
EPILOG = """\
Queue runs (docs/queue.md): --queue URL --run-id ID merges a queue run's record in Redis,
with the runners' bundles when DIRs are given too (their coverage, logs, worker timelines);
results only Redis holds (a killed runner's) count as if its bundle had arrived. DIRs alone
merge the bundles found there; fastci-queue-* bundles are checked against the run's record
when a queue URL is known (--queue, [tool.fastci] queue, $FASTCI_QUEUE_URL) and Redis
answers, else against the plan the bundles name, with a note that the queue was not asked.
Any unit of the plan with no results is an incomplete run (7). Shard bundles never need
Redis, whatever the queue setting says.

exit codes: 0 every shard present and passed; 7 results incomplete (a shard missing,
interrupted or with units that left no results, a corrupt bundle); 3 a shard's pytest
reported an INTERNALERROR; 2 a shard stopped at a collection error, as pytest does; 1 tests
failed; 5 no tests ran; 6 coverage under --fail-under; 4 usage error (a DIR that does not
exist: then nothing is written).
When several apply, the first in the order 3, 7, 2, 1, 5, 6 wins: an
incomplete merge cannot vouch for the rest. Each reason is one line, and the verdict line
comes last.
"""


def percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a percentage, got {text!r}") from None
    if not 0 <= value <= FULL_COVERAGE:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {text!r}")
    return value


def coverage_report(text: str) -> tuple[str, str | None]:
    kind, _, dest = text.partition(":")
    if kind not in REPORT_FILES:
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(REPORT_FILES)} (with :DEST for files), got {text!r}"
        )
    return kind, dest or None


def add_bundle_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """What both merge and report read: the bundle directories and the expected shard count."""
    parser.add_argument(
        "dirs",
        nargs="+" if required else "*",
        type=Path,
        metavar="DIR",
        help="bundles, or directories holding them (downloaded artifacts, a --results dir)",
    )
    parser.add_argument(
        "--expect-shards",
        type=argparse_type(shard_count),
        metavar="N",
        help="the run had N shards: any not found is an error (default: what the bundles say)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_bundle_arguments(parser, required=False)
    add_setting_arguments(parser, "store", "estimate_window", "queue", "allow_flaky", "quarantine")
    parser.add_argument(
        "--run-id", metavar="ID", help="with --queue: the verdict of that queue run from Redis"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("fastci-merged"),
        metavar="DIR",
        help="where merged files go: junit.xml, coverage.db and its reports, report.html, "
        "summary.md (default: fastci-merged)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="the HTML report (default: report.html under --output)",
    )
    parser.add_argument(
        "--fail-under",
        type=percent,
        metavar="PCT",
        help="exit 6 when total coverage is under PCT (default: the shards' --cov-fail-under, "
        "else the project's coverage.py [report] fail_under)",
    )
    parser.add_argument(
        "--cov-report",
        action="append",
        type=coverage_report,
        metavar="TYPE[:DEST]",
        help=f"coverage.py reports: {', '.join(REPORT_FILES)}; repeat for several; DEST "
        "is relative to --output (default: term, xml and html)",
    )
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not fold the shards' timings into the timings store",
    )


def run(args: argparse.Namespace) -> int:
    # Every shard ran --affected and found nothing (a queue merge asks Redis instead).
    if not args.queue and (nothing := nothing_affected(args.dirs or ())):
        print(f"fastci: {nothing}")
        return ExitCode.OK
    return _merge(args)


def _merge(args: argparse.Namespace) -> int:
    from fastci.merge.bundles import import_timings, merge_coverage, write_merged_junit
    from fastci.plan.quarantine import Judge, matching
    from fastci.plan.store import StoreUnusable, TimingsStore, warn
    from fastci.report.html import render_html
    from fastci.report.markdown import render_markdown
    from fastci.report.overview import build_overview
    from fastci.report.progress import use_color
    from fastci.report.summary import Summary, shard_lines

    config = load_config(args)
    output: Path = args.output
    judge = Judge(config.quarantine, config.allow_flaky)
    bundle_set = _bundle_set(args, config, judge)  # a wrong DIR stops here
    writable_directory(output, f"cannot use --output {output}")
    bundles = bundle_set.bundles
    written = [output / "junit.xml"]
    write_merged_junit(written[0], bundles)
    notes = [f"fastci: {note}" for note in bundle_set.notes]
    store_path = None if args.no_store else config.store_path
    notes += merge_notes(store_path, config.estimate_window, (b.path for b in bundles))
    if not args.no_store and bundles:
        try:  # the store is a cache: one that cannot be written costs a warning, not the merge
            with TimingsStore(config.store_path, window=config.estimate_window) as store:
                imported = import_timings(bundles, store)
        except StoreUnusable as e:
            warn(f"the shards' timings were not stored: {e.message}")
        else:
            notes.append(
                f"fastci: timings store {config.store_path}: {imported.runs_new} new run(s), "
                f"{imported.runs_unchanged} already known"
            )
    request = CoverageRequest(
        source=None,
        reports=tuple(args.cov_report or DEFAULT_REPORTS),
        fail_under=_fail_under(args.fail_under, bundles),
    )
    coverage, coverage_problems = merge_coverage(bundles, config.root, request, output)
    if coverage is not None:
        written.append(output / "coverage.db")
    overview = build_overview(config.root.name, bundle_set, coverage, coverage_problems)
    html_path: Path = args.html or output / "report.html"
    write_atomically(html_path, render_html(overview))
    markdown = render_markdown(overview)
    (output / "summary.md").write_text(markdown, encoding="utf-8")
    written += [html_path, output / "summary.md"]
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(markdown)
    notes.append("fastci: wrote " + ", ".join(str(p) for p in written))
    # Worker names repeat across shards: say which shard a failure ran on.
    results = [
        dataclasses.replace(r, worker=f"{shard.label} {r.worker or '?'}")
        for shard in overview.shards
        for r in shard.results
    ]
    summary = Summary(
        results,
        overview.counts,
        overview.makespan,
        "\n".join(shard_lines(overview)),
        coverage.terminal if coverage is not None else "",
        notes,
        problems=[p.message for p in overview.problems],
        quarantined=matching((r.id for r in results), config.quarantine),
        deselected=bundle_set.deselected,
        warnings=[w for bundle in bundles for w in bundle.warnings],
    )
    print(summary.render(color=use_color(sys.stdout)))
    return overview.exit_code


def _bundle_set(args: argparse.Namespace, config: Config, judge: Judge) -> BundleSet:
    """The bundles under the DIRs, checked against the queue's record when they come from a
    queue run (and Redis is reachable); with no DIR, a queue run's record alone."""
    from fastci.merge.bundles import BundleSet, load_bundles
    from fastci.queue import merge as queued
    from fastci.queue.options import queue_settings

    if not args.dirs:
        queue = queue_settings(config.queue, args.run_id, None, os.environ)
        if queue is None:
            raise UsageError("fastci merge needs the bundles' DIRs, or --queue URL --run-id ID")
        source = queued.QueueSource(queue.url, queue.run_id, config.root, judge)
        empty = BundleSet((), 1, (), ())
        return queued.merge_with_record(empty, source, queued.read_record(source))
    bundle_set = load_bundles(args.dirs, args.expect_shards, judge)
    runs = [b.run_id for b in queued.queue_bundles(bundle_set)]
    if not runs and args.run_id is None:
        return bundle_set  # shards: Redis has nothing to say about them
    url = config.queue or os.environ.get("FASTCI_QUEUE_URL") or None
    source = queued.QueueSource(url, args.run_id or max(runs, key=runs.count), config.root, judge)
    try:
        record = queued.read_record(source)
    except FastciError as e:
        if not runs:
            raise
        return queued.merge_bundles_alone(bundle_set, e.message)
    return queued.merge_with_record(bundle_set, source, record)


def _fail_under(given: float | None, bundles: Sequence[Bundle]) -> float | None:
    """--fail-under, else the shards' own --cov-fail-under (the strictest), else None: the
    project's coverage settings decide."""
    recorded = [b.coverage_fail_under for b in bundles if b.coverage_fail_under is not None]
    if given is not None or not recorded:
        return given
    return max(recorded)
