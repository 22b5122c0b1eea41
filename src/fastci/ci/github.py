"""The GitHub Actions workflow fastci writes: gate, lint, N test shards, merge, one verdict."""

from __future__ import annotations

from fastci.ci.workflow import WorkflowOptions, block, comment, header, q, seal

WORKFLOW_PATH = ".github/workflows/ci.yml"
RESULTS = "results"  # `fastci run --results results` writes results/fastci-shard-K-of-N/
RUNNER = "ubuntu-latest"

# Each action at the major version fastci was tested with, and the commit that version's
# release tag pointed at, for --pin-sha (a tag can be moved; a commit id cannot).
ACTIONS: dict[str, tuple[str, str, str]] = {
    "actions/checkout": ("v7", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("v7", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("v5", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("v7", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("v8", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
}

DEFAULT_BRANCH_REF = "format('refs/heads/{0}', github.event.repository.default_branch)"
# Pushes to the default branch (and manual runs there) are trusted: only they save caches.
# A pull request's code, even from a fork, never writes what the default branch restores.
TRUSTED = (
    f"github.ref == {DEFAULT_BRANCH_REF} && "
    "(github.event_name == 'push' || github.event_name == 'workflow_dispatch')"
)
STEP = 6  # indentation of a step's "- name:"


def uses(action: str, options: WorkflowOptions) -> str:
    """``owner/repo[/path]@ref`` for one of ACTIONS (a sub-action like actions/cache/save too)."""
    repository = "/".join(action.split("/")[:2])
    major, sha, version = ACTIONS[repository]
    return f"{action}@{sha} # {version}" if options.pin_sha else f"{action}@{major}"


def step(
    name: str,
    *,
    uses_: str | None = None,
    run: str | None = None,
    id_: str | None = None,
    if_: str | None = None,
    with_: tuple[tuple[str, str], ...] = (),
    env: tuple[tuple[str, str], ...] = (),
    why: str | None = None,
) -> list[str]:
    """One step as YAML lines; ``run`` scripts never contain ${{ }}: values come via ``env``."""
    assert run is None or "${{" not in run, "expressions reach scripts through env only"
    pad = " " * STEP
    lines = comment(why, STEP) if why else []
    lines.append(f"{pad}- name: {name}")
    if id_:
        lines.append(f"{pad}  id: {id_}")
    if if_:
        lines.append(f"{pad}  if: {if_}")
    if uses_:
        lines.append(f"{pad}  uses: {uses_}")
    for key, values in (("with", with_), ("env", env)):
        if values:
            lines.append(f"{pad}  {key}:")
            for k, v in values:
                lines += block(k, v, STEP + 4)
    if run:
        lines += block("run", run, STEP + 2)
    return lines


def checkout(options: WorkflowOptions, keep_credentials: bool = False) -> list[str]:
    if keep_credentials:
        return step(
            "Check out (shallow)",
            uses_=uses("actions/checkout", options),
            with_=(("fetch-depth", "1"), ("persist-credentials", "true")),
            why="fastci changes fetches just enough history to find the merge base, so this "
            "job\nkeeps the checkout's credentials; no other job does.",
        )
    return step(
        "Check out (shallow)",
        uses_=uses("actions/checkout", options),
        with_=(("fetch-depth", "1"), ("persist-credentials", "false")),
    )


def setup(options: WorkflowOptions, python: str) -> list[str]:
    """Set up ``python`` (a YAML scalar: quoted, so 3.10 stays 3.10) and install fastci."""
    return [
        *step(
            "Set up Python",
            uses_=uses("actions/setup-python", options),
            with_=(("python-version", python),),
        ),
        *step("Install fastci", run='python -m pip install "$FASTCI_SPEC"'),
    ]


def wheelhouse(options: WorkflowOptions, save_if: str | None) -> list[str]:
    """Restore the wheelhouse by its key, build it on a miss, install offline from it.

    On a miss the newest wheelhouse for the same Python and platform is restored instead
    (restore-keys): the build reuses its wheels and says which inputs changed.
    """
    key = "fastci-wheels-${{ steps.deps.outputs.key }}"
    lines = [
        *step(
            "Compute the wheelhouse key",
            id_="deps",
            run='key="$(fastci deps key)"\necho "key=$key" >> "$GITHUB_OUTPUT"\n'
            'echo "family=${key%-*}-" >> "$GITHUB_OUTPUT"',
        ),
        *step(
            "Restore the wheelhouse",
            id_="wheelhouse",
            uses_=uses("actions/cache/restore", options),
            with_=(
                ("path", options.wheelhouse),
                ("key", key),
                ("restore-keys", "fastci-wheels-${{ steps.deps.outputs.family }}"),
            ),
        ),
        *step(
            "Build the wheelhouse",
            if_="steps.wheelhouse.outputs.cache-hit != 'true'",
            run="fastci deps build",
        ),
    ]
    if save_if is not None:
        lines += step(
            "Keep only the current wheelhouse",
            if_=f"steps.wheelhouse.outputs.cache-hit != 'true' && {save_if}",
            run="fastci deps prune",
            why="Only the current wheelhouse is saved: the one restored for an older key goes.",
        )
        lines += step(
            "Save the wheelhouse",
            if_=f"steps.wheelhouse.outputs.cache-hit != 'true' && {save_if}",
            uses_=uses("actions/cache/save", options),
            with_=(("path", options.wheelhouse), ("key", key)),
            why="One job per Python version saves it, and only on the default branch: matrix "
            "jobs\nsaving one key would collide, and pull requests must not write it.",
        )
    lines += step(
        "Install the dependencies from the wheelhouse, and the project",
        run="fastci deps install --project",
    )
    return lines


def restore_timings(options: WorkflowOptions) -> list[str]:
    return step(
        "Restore the timings store",
        if_="needs.changes.outputs.timings-key != ''",
        uses_=uses("actions/cache/restore", options),
        with_=(
            ("path", options.store),
            ("key", "${{ needs.changes.outputs.timings-key }}"),
            ("fail-on-cache-miss", "true"),
        ),
        why="The exact entry the changes job found: every shard must plan from the same\n"
        "store, or shards would disagree on which tests are theirs.",
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
        f"    branches: [{q(options.default_branch)}]",
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
        *setup(options, q(options.primary_python)),
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
                ("lookup-only", "true"),
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
    lines += [
        "    steps:",
        *checkout(options),
        *setup(options, q(python)),
    ]
    if "mypy" in options.lint:
        lines += wheelhouse(options, save_if=None)  # mypy needs the project's dependencies
    lines += step(
        "Install the linters (the project's own pins win)",
        run=f"python -m pip install {' '.join(options.lint)}",
    )
    if "ruff" in options.lint:
        lines += step("ruff", run="ruff check --output-format=github .")
    if "mypy" in options.lint:
        configs = "hashFiles('pyproject.toml', 'setup.cfg', 'mypy.ini', '.mypy.ini')"
        prefix = (
            f"mypy-${{{{ runner.os }}}}-py{python}-${{{{ steps.deps.outputs.key }}}}-"
            f"${{{{ {configs} }}}}-"
        )
        key = prefix + "${{ github.run_id }}"
        lines += step(
            "Restore the mypy cache",
            uses_=uses("actions/cache/restore", options),
            with_=(("path", ".mypy_cache"), ("key", key), ("restore-keys", prefix)),
            why="Keyed by Python, dependencies and mypy's configuration; within one key, the "
            "newest\ncache is reused and mypy rechecks only what changed since.",
        )
        lines += step("mypy", run=options.mypy_command)
        lines += step(
            "Save the mypy cache",
            if_="${{ !cancelled() && env.FASTCI_TRUSTED == 'true' }}",
            uses_=uses("actions/cache/save", options),
            with_=(("path", ".mypy_cache"), ("key", key)),
        )
    return lines


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
        *setup(options, "${{ matrix.python }}"),
        *wheelhouse(options, save_if="matrix.shard == 1 && env.FASTCI_TRUSTED == 'true'"),
        *restore_timings(options),
        *step(
            "Run the shard's tests on every core",
            run=f'fastci run --shard "$SHARD" --results {RESULTS}',
            env=(("SHARD", f"${{{{ matrix.shard }}}}/{n}"),),
        ),
        *step(
            "Upload the shard's results",
            if_="${{ !cancelled() }}",
            uses_=uses("actions/upload-artifact", options),
            with_=(
                ("name", f"fastci-shard-py${{{{ matrix.python }}}}-${{{{ matrix.shard }}}}-of-{n}"),
                ("path", f"{RESULTS}/"),
                ("if-no-files-found", "warn"),
                ("retention-days", "7"),
            ),
            why="A bundle's file names never start with a dot, so upload-artifact (which skips "
            "hidden\nfiles) takes all of it; the merge reports a shard that uploaded nothing.",
        ),
    ]
    return lines


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
        *setup(options, q(options.primary_python)),
        *restore_timings(options),
    ]
    for python in options.pythons:
        lines += step(
            f"Download the shards' results (Python {python})",
            uses_=uses("actions/download-artifact", options),
            with_=(
                ("pattern", f"fastci-shard-py{python}-*"),
                ("path", f"{RESULTS}/py{python}"),
                ("merge-multiple", "true"),
            ),
        )
    for python in options.pythons:
        lines += step(
            f"Merge the results (Python {python})",
            if_="${{ !cancelled() }}",
            run=f"fastci merge {options.merge_flags} --html fastci-report-py{python}.html "
            f"{RESULTS}/py{python}",
            why="Writes the summary to this run's page, the HTML report, and every shard's "
            "timings\ninto the store. Exit 1: tests failed, 6: coverage under the threshold, "
            "7: a shard's\nresults are missing.",
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
        f"hashFiles('{options.store}') != '' }}}}",
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
