"""``fastci pipeline``: the CI pipeline on this machine, with CI's artifacts and exit codes."""

from __future__ import annotations

import argparse
import sys

from fastci.changes.git import last_line
from fastci.config import add_setting_arguments, load_config

NAME = "pipeline"
HELP = "run the CI pipeline here: gate, deps, lint, every shard, merge and report"
PYTEST_ARGS = True
EPILOG = """\
exit codes: the merge's (0 passed, 1 tests failed, 6 coverage under --fail-under, 7 results
incomplete), else 1 when lint failed, 8 when the dependencies failed; 0 when the gate finds
nothing to run (unless --force); 2 when cancelled (Ctrl-C, or a newer pipeline of the same
--group). Its logs, bundles and report go under .fastci/pipeline/<id>/; like CI, it also
updates the timings store and the wheelhouse. It installs nothing: steps run in fastci's
own environment.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "fastci pipeline [OPTIONS] [PYTEST_ARGS ...]"
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_setting_arguments(parser, "shards")
    parser.add_argument(
        "--group", metavar="NAME",
        help="a concurrency group: a pipeline of the same group still running is cancelled",
    )  # fmt: skip
    parser.add_argument("--base", metavar="REF", help="what the gate measures the change from")
    parser.add_argument(
        "--force", action="store_true", help="run even when the gate finds nothing to run"
    )
    parser.add_argument(
        "--skip", action="append", choices=("deps", "lint"), default=[],
        help="leave out a step (repeat for several)",
    )  # fmt: skip
    parser.add_argument("--fail-under", type=float, metavar="PCT",
                        help="fail the merge when total coverage is under PCT")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from fastci.ci.pipeline import Pipeline, PipelineOptions, StepResult
    from fastci.ci.workflow import ci_shards

    config = load_config(args)
    shards = args.shards or ci_shards(config)
    options = PipelineOptions(
        shards=shards, base=args.base, group=args.group, force=args.force,
        skip=frozenset(args.skip), fail_under=args.fail_under,
        pytest_args=tuple(args.passthrough),
    )  # fmt: skip

    def report(step: StepResult, event: str) -> None:
        if event == "finished":
            where = "" if step.status == "passed" else f"  (log: {logs / step.log_name})"
            print(f"  {step.status:9} {step.name:24} {step.seconds:6.1f}s{where}", flush=True)

    pipeline = Pipeline(config, options, report)
    logs = pipeline.directory / "logs"
    print(f"fastci pipeline {pipeline.result.id}: {shards} shards", flush=True)
    result = pipeline.run()
    gate_log = logs / "gate.log"
    if gate_log.exists():
        print("  gate said: " + last_line(gate_log.read_text()))
    merge_log = logs / "merge.log"
    if merge_log.exists() and result.status != "cancelled":
        sys.stdout.write(merge_log.read_text())
    for step in result.steps:
        if step.note:
            print(f"fastci: {step.note}")
    report_path = result.directory / "report.html"
    tail = f"; report: {report_path}" if report_path.exists() else ""
    print(f"fastci pipeline {result.status} (exit {result.exit_code}){tail}")
    return result.exit_code
