"""The GitLab CI/CD pipeline fastci writes: the same jobs as on GitHub, in GitLab's terms.

GitLab decides which jobs a pipeline has before any of them starts, so the gate's include
patterns become ``rules: changes`` globs; ``parallel: N`` makes the shards (fastci run reads
CI_NODE_INDEX and CI_NODE_TOTAL); ``interruptible`` with ``workflow: auto_cancel`` cancels
superseded pipelines except on the default branch.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastci.ci.affected import GITLAB_TRUSTED, shard_command
from fastci.ci.quoting import q, scalar, sh
from fastci.ci.workflow import (
    DEPS_BUILD,
    DEPS_INSTALL,
    DEPS_PRUNE,
    INSTALL_FASTCI,
    INSTALL_FASTCI_DEPS,
    QUEUE_CHECK,
    RESULTS,
    WorkflowOptions,
    comment,
    header,
    python_slug,
    queue_merge,
    queue_run,
    seal,
)
from fastci.errors import UsageError

WORKFLOW_PATH = ".gitlab-ci.yml"
MAX_PARALLEL = 200  # GitLab's limit for `parallel: N`
MAX_CHANGES_PATHS = 50  # GitLab's limit for `rules: changes: paths`


def gitlab_globs(patterns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Gitignore-style patterns as the globs ``rules: changes`` takes, and those it cannot take.

    A pattern without a slash matches at any depth (``**/``); one with a slash is anchored at
    the root; a trailing slash means everything below a directory. A name that may be a file
    or a directory (no dot, no wildcard) gets both forms. Negations have no equivalent.
    """
    globs: list[str] = []
    untranslatable: list[str] = []
    for raw in patterns:
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        if pattern.startswith("!"):
            untranslatable.append(raw)
            continue
        if pattern.startswith("\\"):
            pattern = pattern[1:]
        directory = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        base = pattern if anchored or pattern.startswith("**/") else f"**/{pattern}"
        name = pattern.rsplit("/", 1)[-1]
        if not directory:
            globs.append(base)
        if directory or not any(c in name for c in ".*?["):
            globs.append(f"{base}/**/*")
    return list(dict.fromkeys(globs)), untranslatable


def image(python: str) -> str:
    if python.startswith("pypy"):
        return f"pypy:{python[len('pypy') :]}"
    return f"python:{python}"


def render(options: WorkflowOptions) -> str:
    """The whole .gitlab-ci.yml for ``options``."""
    if options.shards > MAX_PARALLEL:
        raise UsageError(f"GitLab runs at most {MAX_PARALLEL} parallel jobs; use fewer shards")
    globs, untranslatable = gitlab_globs(options.include)
    if not globs:
        raise UsageError("the gate has no include pattern GitLab's rules: changes can use")
    for glob in globs:
        if "$" in glob:  # GitLab expands variables in rules: changes paths, with no escape
            raise UsageError(
                f"the gate's pattern {glob!r} holds '$', which GitLab reads as a variable; "
                "use a pattern without it (a ? matches the character too)"
            )
    if len(globs) > MAX_CHANGES_PATHS:
        raise UsageError(
            f"the gate's patterns make {len(globs)} rules: changes globs, more than GitLab's "
            f"{MAX_CHANGES_PATHS}; use fewer [tool.fastci.gate] include patterns"
        )
    lines = header("CI: gate, lint, test shards, merged results.", options)
    lines += _workflow(options)
    lines += _changed_rules(globs, untranslatable, options.exclude)
    lines += _changes_job()
    lines += _timings_job(options)
    for python in options.pythons:
        lines += _deps_job(options, python)
    if options.lint:
        lines += _lint_job(options)
    for python in options.pythons:
        lines += _test_job(options, python)
    lines += _merge_job(options)
    return seal(lines)


def _workflow(options: WorkflowOptions) -> list[str]:
    return [
        "",
        "workflow:",
        "  # A new push cancels the interruptible jobs of the pipeline it supersedes; on the",
        "  # default branch nothing is cancelled, so every commit there is tested to the end.",
        "  auto_cancel:",
        "    on_new_commit: interruptible",
        "  rules:",
        '    - if: $CI_PIPELINE_SOURCE == "merge_request_event"',
        "    # A branch with an open merge request is tested by the merge request pipeline.",
        "    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS",
        "      when: never",
        "    # Only the default branch writes caches, so a merge request cannot poison them.",
        "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "      auto_cancel:",
        "        on_new_commit: none",
        "      variables:",
        "        FASTCI_CACHE_POLICY: pull-push",
        "    - if: $CI_COMMIT_BRANCH",
        "    - if: $CI_COMMIT_TAG",
        "",
        "stages:",
        "  - prepare",
        "  - test",
        "  - report",
        "",
        "variables:",
        "  # What pip installs as fastci: plain for the jobs that only test and merge, with",
        "  # fastci[deps] for those that run fastci deps. Taken as written: no $ expansion.",
        *_raw_variable("FASTCI_SPEC", options.fastci_spec),
        *_raw_variable("FASTCI_DEPS_SPEC", options.fastci_deps_spec),
        "  FASTCI_CACHE_POLICY: pull",
        "  # A shallow clone; fastci changes fetches more history when it needs it.",
        '  GIT_DEPTH: "20"',
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"',
        "",
        "default:",
        f"  image: {image(options.primary_python)}",
        "  interruptible: true",
        *_script("before_script", [INSTALL_FASTCI]),
    ]


def _raw_variable(name: str, value: str) -> list[str]:
    return [f"  {name}:", f"    value: {q(value)}", "    expand: false"]


def _script(key: str, commands: Sequence[str]) -> list[str]:
    """A job's ``key:`` list of shell lines; a line starting with '#' is a YAML comment."""
    return [
        f"  {key}:",
        *(f"    {c}" if c.startswith("#") else f"    - {scalar(c)}" for c in commands),
    ]


def _changed_rules(
    globs: list[str], untranslatable: list[str], exclude: Sequence[str]
) -> list[str]:
    notes = (
        "The gate's include patterns as GitLab globs: the jobs using them run only when a\n"
        "change touches one (in a merge request, compared with the target branch; on a push,\n"
        "with the previous push). New branches, tags and scheduled pipelines run everything."
    )
    skipped = [*untranslatable, *(f"exclude {p}" for p in exclude)]
    if skipped:
        notes += (
            "\nNot expressible in rules: changes, so GitLab runs the jobs for these too: "
            + ", ".join(skipped)
        )
    lines = ["", *comment(notes, 0), ".fastci-changed:", "  rules:", "    - changes:"]
    lines.append("        paths: &fastci-paths")
    lines += [f"          - {q(glob)}" for glob in globs]
    return lines


def _changes_job() -> list[str]:
    return [
        "",
        "changes:",
        "  stage: prepare",
        "  # Runs in every pipeline, so one exists (and passes) when the tests are skipped, and",
        "  # says which changed path decided. Exit 9 means nothing to run: not a failure.",
        *_script("script", ['fastci gate --verbose || test "$?" -eq 9']),
    ]


def _timings_job(options: WorkflowOptions) -> list[str]:
    store = options.store
    return [
        "",
        "timings:",
        "  stage: prepare",
        "  extends: .fastci-changed",
        "  # Copies the timings store into this pipeline once, so every shard plans from the",
        "  # same store even if another pipeline updates the cache meanwhile.",
        "  before_script: []",
        "  cache:",
        "    key: fastci-timings",
        "    paths:",
        f"      - {q(store)}",
        "    policy: pull",
        *_script(
            "script",
            [
                f'if [ -f {sh(store)} ]; then echo "timings store found"; '
                'else echo "no timings store yet"; fi'
            ],
        ),
        "  artifacts:",
        "    paths:",
        f"      - {q(store)}",
        "    expire_in: 1 day",
    ]


def _wheelhouse_cache(
    options: WorkflowOptions, python: str, policy: str, indent: int = 4
) -> list[str]:
    pad = " " * indent
    return [
        f"{pad}key: fastci-wheels-{python_slug(python)}",
        f"{pad}paths:",
        f"{pad}  - {q(options.wheelhouse.rstrip('/') + '/')}",
        f"{pad}policy: {policy}",
    ]


DEPS_BEFORE_SCRIPT = _script("before_script", [INSTALL_FASTCI_DEPS])


def _deps_job(options: WorkflowOptions, python: str) -> list[str]:
    return [
        "",
        f"deps-{python_slug(python)}:",
        "  stage: prepare",
        f"  image: {image(python)}",
        "  # The one writer of the wheelhouse cache for this Python, on the default branch only;",
        "  # the other jobs read it, so parallel jobs never race to save the same key.",
        "  rules:",
        "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        "      changes:",
        "        paths: *fastci-paths",
        "  cache:",
        *_wheelhouse_cache(options, python, "pull-push"),
        *DEPS_BEFORE_SCRIPT,
        *_script(
            "script", [DEPS_BUILD, "# Keep only the current wheelhouse in the cache.", DEPS_PRUNE]
        ),
    ]


def _needs(python: str, *more: str) -> list[str]:
    lines = ["  needs:"]
    lines += [f"    - job: {job}" for job in more]
    lines += [
        f"    - job: deps-{python_slug(python)}",
        "      optional: true",
        "      artifacts: false",
    ]
    return lines


def _lint_job(options: WorkflowOptions) -> list[str]:
    python = options.primary_python
    lines = ["", "lint:", "  stage: test", "  extends: .fastci-changed", *_needs(python)]
    script = []
    if "mypy" in options.linters:  # mypy needs the project's dependencies, and keeps a cache
        wheels = _wheelhouse_cache(options, python, "pull", indent=6)
        lines += [
            "  cache:",
            "    - " + wheels[0].lstrip(),
            *wheels[1:],
            "    # mypy's cache, per Python and configuration; mypy rechecks what changed.",
            "    - key:",
            f"        prefix: fastci-mypy-{python_slug(python)}",
            "        files:",
            "          - pyproject.toml",
            "      paths:",
            "        - .mypy_cache/",
            "      policy: $FASTCI_CACHE_POLICY",
            *DEPS_BEFORE_SCRIPT,
        ]
        script += [DEPS_BUILD, DEPS_INSTALL]
    script.append(options.install_linters)
    script += [command.line for command in options.lint]
    lines += _script("script", script)
    return lines


def _test_job(options: WorkflowOptions, python: str) -> list[str]:
    results = f"{RESULTS}/{python_slug(python)}"
    return [
        "",
        f"test-{python_slug(python)}:",
        "  stage: test",
        "  extends: .fastci-changed",
        f"  image: {image(python)}",
        f"  parallel: {options.shards}",
        *_needs(python, "timings"),
        "  cache:",
        *_wheelhouse_cache(options, python, "pull"),
        *DEPS_BEFORE_SCRIPT,
        *_script(
            "script",
            [
                DEPS_BUILD,
                DEPS_INSTALL,
                *(
                    _queue_run(python, results, options.shards)
                    if options.queue
                    else [
                        "# parallel sets CI_NODE_INDEX and CI_NODE_TOTAL: fastci run reads its "
                        "shard there.",
                        shard_command(
                            f"fastci run --results {results}", options.affected, GITLAB_TRUSTED
                        ),
                    ]
                ),
            ],
        ),
        "  artifacts:",
        "    when: always",
        "    paths:",
        f"      - {q(results + '/')}",
        "    expire_in: 1 week",
    ]


def _queue_run(python: str, results: str, runners: int) -> list[str]:
    """A parallel job of a queue run: FASTCI_QUEUE_URL is a masked CI/CD variable."""
    return [
        "# parallel makes N runners of one queue; a retried job keeps its CI_NODE_INDEX.",
        QUEUE_CHECK,
        queue_run(f"gitlab-$CI_PIPELINE_ID-{python}", f"{python}-$CI_NODE_INDEX", results, runners),
    ]


def _merge_job(options: WorkflowOptions) -> list[str]:
    commands = [
        queue_merge(f"gitlab-$CI_PIPELINE_ID-{p}", p) if options.queue else options.merge_command(p)
        for p in options.pythons
    ]
    if options.queue:
        commands = [QUEUE_CHECK, *commands]
    if len(commands) > 1:  # merge every Python's results, then fail if any merge failed
        commands = ["status=0", *(f"{c} || status=$?" for c in commands), 'exit "$status"']
    return [
        "",
        "merge:",
        "  stage: report",
        "  # Runs when shards failed too: the merge says which tests failed and what is missing.",
        "  rules:",
        "    - changes:",
        "        paths: *fastci-paths",
        "      when: always",
        "  needs:",
        "    - job: timings",
        *(f"    - job: test-{python_slug(p)}" for p in options.pythons),
        "  # The store comes from the timings job; the default branch saves the merged one.",
        "  cache:",
        "    key: fastci-timings",
        "    paths:",
        f"      - {q(options.store)}",
        "    policy: $FASTCI_CACHE_POLICY",
        *_script("script", commands),
        "  artifacts:",
        "    when: always",
        "    expose_as: fastci report",
        "    paths:",
        *(f"      - {q(f'fastci-report-{python_slug(p)}.html')}" for p in options.pythons),
    ]
