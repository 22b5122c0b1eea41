"""The GitHub Actions workflow fastci writes: gate, lint, N test shards, merge, one verdict."""

from __future__ import annotations

from fastci.ci import workflow as shared
from fastci.ci.affected import GITHUB_TRUSTED, shard_command
from fastci.ci.github_steps import checkout, restore_timings, setup, step, uses, wheelhouse
from fastci.ci.quoting import branch_filter, expression_string, q
from fastci.ci.workflow import RESULTS, WorkflowOptions, comment, header, python_slug, seal

WORKFLOW_PATH = ".github/workflows/ci.yml"
RUNNER = "ubuntu-latest"

DEFAULT_BRANCH_REF = "format('refs/heads/{0}', github.event.repository.default_branch)"
# Pushes to the default branch (and manual runs there) are trusted: only they save caches.
# A pull request's code, even from a fork, never writes what the default branch restores.
TRUSTED = (
    f"github.ref == {DEFAULT_BRANCH_REF} && "
    "(github.event_name == 'push' || github.event_name == 'workflow_dispatch')"
)


def render(options: WorkflowOptions) -> str:
    """The whole workflow file for ``options``."""
    lines = header("CI: gate, lint, test shards, merged results, one required check.", options)
    lines += _triggers(options)
    lines += ["", "jobs:"]
    lines += _changes_job(options)
    if options.lint:
        lines += _lint_job(options)
    lines += _test_job(options)
    lines += _merge_job(options)
    lines += _verdict_job(options)
    return seal(lines)


def _triggers(options: WorkflowOptions) -> list[str]:
    group = (
        f"${{{{ github.workflow }}}}-${{{{ github.ref == {DEFAULT_BRANCH_REF} && github.run_id "
        "|| github.event.pull_request.number || github.ref }}"
    )
    return [
        "",
        "name: CI",
        "",
        "# No `paths:` filters here: a workflow they skip never reports, and a required check",
        "# then waits forever. The changes job below decides what runs instead.",
        "on:",
        "  push:",
        f"    branches: [{q(branch_filter(options.default_branch))}]",
        "  pull_request:",
        "  merge_group:",
        "  workflow_dispatch:",
        "",
        "# Read-only for every job; none of them needs more.",
        "permissions:",
        "  contents: read",
        "",
        "# A new push to a pull request or branch cancels its superseded run. On the default",
        "# branch each run has a group of its own, so none is ever cancelled or left queued.",
        "concurrency:",
        f"  group: {group}",
        "  cancel-in-progress: true",
        "",
        "env:",
        f"  FASTCI_SPEC: {q(options.fastci_spec)}",
        f"  FASTCI_DEPS_SPEC: {q(options.fastci_deps_spec)}",
        "  FASTCI_TRUSTED: ${{ " + TRUSTED + " }}",
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"',
    ]


def _job(job_id: str, name: str, *, needs: str | None, if_: str | None, minutes: int) -> list[str]:
    lines = ["", f"  {job_id}:", f"    name: {name}"]
    if needs:
        lines.append(f"    needs: {needs}")
    if if_:
        lines.append(f"    if: {if_}")
    lines += [f"    runs-on: {RUNNER}", f"    timeout-minutes: {minutes}"]
    return lines


def _changes_job(options: WorkflowOptions) -> list[str]:
    lines = comment(
        "Decides whether this change needs the pipeline (`fastci gate`: exit 0 run, 9 skip),\n"
        "and finds the timings store every shard will plan from.",
        2,
    )
    lines[0:0] = [""]
    lines += _job("changes", "changes", needs=None, if_=None, minutes=10)[1:]
    lines += [
        "    outputs:",
        "      run: ${{ steps.gate.outputs.run }}",
        "      timings-key: ${{ steps.timings.outputs.cache-matched-key }}",
        "    steps:",
        *checkout(options, keep_credentials=True),
        *setup(options, options.primary_python),
        *step(
            "Decide whether the change needs the tests",
            id_="gate",
            run='fastci gate --verbose || test "$?" -eq 9',
            why='Exit 9 is the answer "nothing to run", not a failure: run=false tells the '
            "other jobs.",
        ),
        *step(
            "Find the timings store",
            id_="timings",
            if_="steps.gate.outputs.run == 'true'",
            uses_=uses("actions/cache/restore", options),
            with_=(
                ("path", options.store),
                ("key", "fastci-timings-${{ github.run_id }}"),
                ("restore-keys", "fastci-timings-"),
                ("lookup-only", True),
            ),
        ),
    ]
    return lines


def _lint_job(options: WorkflowOptions) -> list[str]:
    python = options.primary_python
    lines = _job(
        "lint",
        "lint",
        needs="changes",
        if_="needs.changes.outputs.run == 'true'",
        minutes=20,
    )
    mypy = "mypy" in options.linters  # mypy needs the project's dependencies
    lines += ["    steps:", *checkout(options), *setup(options, python, deps=mypy)]
    if mypy:
        lines += wheelhouse(options, save_if=None)
    lines += step("Install the linters (the project's own pins win)", run=options.install_linters)
    for command in options.lint:
        if command.name == "ruff":
            lines += step(
                "ruff",
                run=command.line,
                env=(("RUFF_OUTPUT_FORMAT", "github"),),
                why="The same command as everywhere; the format makes its findings annotations.",
            )
        else:
            lines += _mypy_steps(options, command.line)
    return lines


def _mypy_steps(options: WorkflowOptions, command: str) -> list[str]:
    """mypy, with its cache keyed by Python, dependencies and configuration."""
    configs = "hashFiles('pyproject.toml', 'setup.cfg', 'mypy.ini', '.mypy.ini')"
    prefix = (
        f"mypy-${{{{ runner.os }}}}-py{options.primary_python}-"
        f"${{{{ steps.deps.outputs.key }}}}-${{{{ {configs} }}}}-"
    )
    key = prefix + "${{ github.run_id }}"
    return [
        *step(
            "Restore the mypy cache",
            uses_=uses("actions/cache/restore", options),
            with_=(("path", ".mypy_cache"), ("key", key), ("restore-keys", prefix)),
            why="Keyed by Python, dependencies and mypy's configuration; within one key, the "
            "newest\ncache is reused and mypy rechecks only what changed since.",
        ),
        *step("mypy", run=command),
        *step(
            "Save the mypy cache",
            if_="${{ !cancelled() && env.FASTCI_TRUSTED == 'true' }}",
            uses_=uses("actions/cache/save", options),
            with_=(("path", ".mypy_cache"), ("key", key)),
        ),
    ]


def _test_job(options: WorkflowOptions) -> list[str]:
    n = options.shards
    pythons = ", ".join(q(p) for p in options.pythons)
    shards = ", ".join(str(k) for k in range(1, n + 1))
    lines = _job(
        "test",
        f"tests ${{{{ matrix.shard }}}}/{n} (Python ${{{{ matrix.python }}}})",
        needs="changes",
        if_="needs.changes.outputs.run == 'true'",
        minutes=60,
    )
    lines += [
        "    strategy:",
        "      # Every shard runs to the end even when another fails: the merge needs them all.",
        "      fail-fast: false",
        "      matrix:",
        f"        python: [{pythons}]",
        f"        shard: [{shards}]",
        "    steps:",
        *checkout(options),
        *setup(options, "${{ matrix.python }}", deps=True),
        *wheelhouse(options, save_if="matrix.shard == 1 && env.FASTCI_TRUSTED == 'true'"),
        *restore_timings(options),
        *(
            _queue_run(n)
            if options.queue
            else step(
                "Run the shard's tests on every core",
                run=shard_command(
                    f'fastci run --shard "$SHARD" --results {RESULTS}',
                    options.affected,
                    GITHUB_TRUSTED,
                ),
                env=(("SHARD", f"${{{{ matrix.shard }}}}/{n}"),),
            )
        ),
        *step(
            "Upload the shard's results",
            if_="${{ !cancelled() }}",
            uses_=uses("actions/upload-artifact", options),
            with_=(
                ("name", f"fastci-shard-py${{{{ matrix.python }}}}-${{{{ matrix.shard }}}}-of-{n}"),
                ("path", f"{RESULTS}/"),
                ("if-no-files-found", "warn"),
                ("retention-days", 7),
            ),
            why="A bundle's file names never start with a dot, so upload-artifact (which skips "
            "hidden\nfiles) takes all of it; the merge reports a shard that uploaded nothing.",
        ),
    ]
    return lines


QUEUE_URL = ("FASTCI_QUEUE_URL", "${{ secrets.FASTCI_QUEUE_URL }}")


def _queue_run(runners: int) -> list[str]:
    job = "$PYTHON-$SHARD"
    command = shared.queue_run("github-$GITHUB_RUN_ID-$PYTHON", job, RESULTS, runners)
    return step(
        "Run tests from the shared queue on every core",
        run=f"{shared.QUEUE_CHECK}\n{command}",
        env=(QUEUE_URL, ("PYTHON", "${{ matrix.python }}"), ("SHARD", "${{ matrix.shard }}")),
        why="Every job of this Python takes units from one queue; a re-run job replays its own.",
    )


def _queue_merge(python: str) -> list[str]:
    command = shared.queue_merge(f"github-$GITHUB_RUN_ID-{python}", python)
    return step(
        f"Merge the queue run's results (Python {python})",
        if_="${{ !cancelled() }}",
        run=f"{shared.QUEUE_CHECK}\n{command}",
        env=(QUEUE_URL,),
        why="The verdict from Redis: exit 1 tests failed, 7 a unit has no results.",
    )


def _merge_job(options: WorkflowOptions) -> list[str]:
    lines = _job(
        "merge",
        "merge results",
        needs="[changes, test]",
        if_="${{ !cancelled() && needs.changes.outputs.run == 'true' }}",
        minutes=20,
    )
    lines += [
        "    steps:",
        *checkout(options),
        *setup(options, options.primary_python),
        *restore_timings(options),
    ]
    for python in options.pythons:
        lines += step(
            f"Download the shards' results (Python {python})",
            uses_=uses("actions/download-artifact", options),
            with_=(
                ("pattern", f"fastci-shard-py{python}-*"),
                ("path", f"{RESULTS}/{python_slug(python)}"),
                ("merge-multiple", True),
            ),
        )
    for python in options.pythons:
        lines += (
            _queue_merge(python)
            if options.queue
            else step(
                f"Merge the results (Python {python})",
                if_="${{ !cancelled() }}",
                run=options.merge_command(python),
                why="Writes the summary to this run's page, the HTML report, and every shard's "
                "timings\ninto the store. Exit 1: tests failed, 6: coverage under the threshold, "
                "7: a shard's\nresults are missing.",
            )
        )
    lines += step(
        "Upload the HTML report",
        if_="${{ !cancelled() }}",
        uses_=uses("actions/upload-artifact", options),
        with_=(
            ("name", "fastci-report"),
            ("path", "fastci-report-*.html"),
            ("if-no-files-found", "warn"),
        ),
    )
    lines += step(
        "Save the timings store for the next run",
        if_=f"${{{{ !cancelled() && env.FASTCI_TRUSTED == 'true' && "
        f"hashFiles({expression_string(options.store)}) != '' }}}}",
        uses_=uses("actions/cache/save", options),
        with_=(
            ("path", options.store),
            ("key", "fastci-timings-${{ github.run_id }}-${{ github.run_attempt }}"),
        ),
        why="Through the cache, not an artifact: the store sits in a hidden directory. Saved "
        "from\nthe default branch only, where every pull request finds it.",
    )
    return lines


def _verdict_job(options: WorkflowOptions) -> list[str]:
    needed = ["changes", *(["lint"] if options.lint else []), "test", "merge"]
    env = [("RUN", "${{ needs.changes.outputs.run }}")]
    env += [(job.upper(), f"${{{{ needs.{job}.result }}}}") for job in needed]
    checks = " ".join(f'"{job}=${job.upper()}"' for job in needed[1:])
    script = f"""\
echo "gate run=${{RUN:-unknown}}"
status=0
if [ "$CHANGES" != success ]; then
  echo "::error::the changes job ended in $CHANGES"
  status=1
fi
for job in {checks}; do
  case "$RUN:${{job#*=}}" in
    true:success | false:skipped) echo "$job" ;;
    *) echo "::error::${{job%%=*}} ended in ${{job#*=}} (gate run=$RUN)"; status=1 ;;
  esac
done
exit "$status"
"""
    lines = comment(
        "The one check to require in branch protection. It runs even when others failed or\n"
        "were cancelled, fails if any of them did, and passes when the gate skipped the tests.",
        2,
    )
    lines[0:0] = [""]
    lines += _job(
        "verdict", "ci verdict", needs=f"[{', '.join(needed)}]", if_="always()", minutes=5
    )[1:]
    lines += [
        "    steps:",
        *step("Check the needed jobs", env=tuple(env), run=script),
    ]
    return lines
