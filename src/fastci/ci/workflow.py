"""What the GitHub and GitLab workflow writers share: options, commands, YAML text, hand edits.

Workflows are written as text, line by line, so that the file is deterministic, commented and
laid out for the people who will read it. A digest line in the header records what fastci
wrote; a file whose content no longer matches it has been edited by hand.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from fastci import __version__
from fastci.changes import git
from fastci.ci.lint import LintCommand, choose_linters, lint_commands
from fastci.ci.quoting import check_branch, check_path, check_text, scalar, sh
from fastci.config import Config, read_pyproject_settings
from fastci.errors import UsageError
from fastci.files import write_atomically

DIGEST_PREFIX = "# fastci-digest: sha256:"
DEFAULT_SHARDS = 4
DEFAULT_PYTHON = "3.12"
MAX_MATRIX_JOBS = 256  # GitHub's limit for one matrix
MAX_PERCENT = 100
PYTHON_VERSION = re.compile(r"^(pypy)?3\.\d+[0-9a-z.-]*$")
RESULTS = "results"  # `fastci run --results results` writes results/fastci-shard-K-of-N/
DEPS_EXTRA = "deps"  # fastci[deps]: what `fastci deps` needs beyond fastci itself
# A requirement: a name, its extras, then a version, marker or URL (or nothing).
REQUIREMENT = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\s*)(?:\[([^\]]*)\])?(\s*(?:[<>=!~;@(].*)?)$"
)

# The commands both workflows run, each also a command a person can type.
INSTALL_FASTCI = 'python -m pip install "$FASTCI_SPEC"'
INSTALL_FASTCI_DEPS = 'python -m pip install "$FASTCI_DEPS_SPEC"'
# GitHub's jobs install fastci with uv (set up by astral-sh/setup-uv) into the Python that
# actions/setup-python put on PATH: about ten times faster than pip, once per job.
UV_INSTALL_FASTCI = 'uv pip install --system "$FASTCI_SPEC"'
UV_INSTALL_FASTCI_DEPS = 'uv pip install --system "$FASTCI_DEPS_SPEC"'
DEPS_BUILD = "fastci deps build"
DEPS_PRUNE = "fastci deps prune"
DEPS_INSTALL = "fastci deps install --project"
# Queue mode (docs/queue.md): the runners of a run share a Redis queue, its URL a CI secret.
QUEUE_EXTRA = "queue"  # fastci[queue]: the Redis client
QUEUE_CHECK = (
    ': "${FASTCI_QUEUE_URL:?set the FASTCI_QUEUE_URL secret to a Redis URL, see docs/queue.md}"'
)


def queue_run(run_id: str, job: str, results: str, runners: int) -> str:
    """One of ``runners`` of a queue run; ``run_id`` is one per Python, ``job`` stays when
    the job is re-run."""
    return (
        f'fastci run --queue "$FASTCI_QUEUE_URL" --run-id "{run_id}" --queue-job "{job}" '
        f"--shards {runners} --results {results}"
    )


def queue_merge(run_id: str, python: str) -> str:
    """The verdict of one Python's queue run, from Redis."""
    return (
        f'fastci merge --queue "$FASTCI_QUEUE_URL" --run-id "{run_id}" '
        f"-o fastci-merged-{python_slug(python)}"
    )


@dataclasses.dataclass(frozen=True)
class WorkflowOptions:
    """Everything a workflow depends on: flags and what was read from the project."""

    shards: int
    pythons: tuple[str, ...]
    fastci_spec: str  # what `pip install` installs as fastci
    lint: tuple[LintCommand, ...]  # ruff and/or mypy, in that order
    fail_under: float | None
    default_branch: str
    store: str  # the timings store, relative to the project root
    wheelhouse: str = ".cache/wheels"  # where fastci deps keeps one wheelhouse per key
    include: tuple[str, ...] = ()  # the gate's patterns (GitLab writes them into rules)
    exclude: tuple[str, ...] = ()
    pin_sha: bool = False
    command: str = ""  # the command line that wrote the file, for its header
    queue: bool = False  # the test jobs take units from a shared Redis queue (docs/queue.md)
    affected: str = "pull-requests"  # where tests run --affected (fastci.ci.affected)

    @property
    def primary_python(self) -> str:
        return self.pythons[0]

    @property
    def fastci_deps_spec(self) -> str:
        """fastci_spec with the deps extra, pinned the same way: for jobs that run fastci deps."""
        return with_extra(self.fastci_spec, DEPS_EXTRA)

    @property
    def linters(self) -> tuple[str, ...]:
        return tuple(command.name for command in self.lint)

    @property
    def install_linters(self) -> str:
        return shlex.join(["python", "-m", "pip", "install", *self.linters])

    def merge_command(self, python: str) -> str:
        """The merge of ``python``'s shards: its results directory and report are named by it."""
        words = ["fastci", "merge", "--expect-shards", str(self.shards)]
        if self.fail_under is not None:
            words += ["--fail-under", f"{self.fail_under:g}"]
        slug = python_slug(python)
        return shlex.join([*words, "--html", f"fastci-report-{slug}.html", f"{RESULTS}/{slug}"])


def python_slug(python: str) -> str:
    """``py3.12`` or ``pypy3.10``: how job, directory and report names tell Pythons apart."""
    return python if python.startswith("pypy") else f"py{python}"


def with_extra(spec: str, extra: str) -> str:
    """The pip requirement ``spec`` with ``extra`` added: ``fastci==1.0`` -> ``fastci[x]==1.0``.

    A URL becomes ``fastci[x] @ URL``; a local path (``.``, a wheel file) gets ``[x]`` after it.
    """
    match = REQUIREMENT.match(spec)
    if match is None:
        return f"fastci[{extra}] @ {spec}" if "://" in spec else f"{spec}[{extra}]"
    name, space, extras, rest = match.groups()
    names = [e.strip() for e in (extras or "").split(",") if e.strip()]
    names += [] if extra in names else [extra]
    return f"{name}[{','.join(names)}]{'' if extras is not None else space}{rest}"


def python_version(value: str) -> str:
    """A version setup-python and the python images know; ValueError completes "must be"."""
    if not PYTHON_VERSION.match(value):
        raise ValueError("a Python version like 3.12 or pypy3.10")
    return value


def percentage(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= MAX_PERCENT:
        raise ValueError("a percentage from 0 to 100")
    return number


@dataclasses.dataclass(frozen=True)
class WorkflowFlags:
    """What the command line asked for, before the project and the defaults fill it in."""

    provider: str  # github or gitlab
    shards: int | None = None
    pythons: tuple[str, ...] = ()
    fastci_spec: str = "fastci"
    lint: str = "auto"
    fail_under: float | None = None
    pin_sha: bool = False
    settings: tuple[tuple[str, str], ...] = ()  # the setting flags given, as (flag, value)
    queue: bool = False
    affected: str = "pull-requests"


def options_for_project(config: Config, flags: WorkflowFlags) -> WorkflowOptions:
    """Resolve the options for ``config.root``: flags first, then the project, then defaults."""
    from fastci.changes.gate import GateRules

    shards = ci_shards(config) if flags.shards is None else flags.shards
    pythons = tuple(dict.fromkeys(flags.pythons)) or (DEFAULT_PYTHON,)
    if shards * len(pythons) > MAX_MATRIX_JOBS:
        raise UsageError(
            f"{shards} shards x {len(pythons)} Python versions is more than the "
            f"{MAX_MATRIX_JOBS} jobs one GitHub matrix may have; use fewer shards"
        )
    if not flags.fastci_spec.strip():
        raise UsageError("--fastci-spec must be one pip requirement, like fastci==0.1.0")
    check_text("--fastci-spec", flags.fastci_spec)
    spec = flags.fastci_spec.strip()
    fail_under = flags.fail_under
    if fail_under is not None and not 0 <= fail_under <= MAX_PERCENT:
        raise UsageError(f"--fail-under must be a percentage from 0 to 100, got {fail_under:g}")
    rules = GateRules.from_config(config)
    for pattern in (*rules.include, *rules.exclude):
        check_text("the gate's pattern", pattern)
    return WorkflowOptions(
        shards=shards,
        pythons=pythons,
        fastci_spec=with_extra(spec, QUEUE_EXTRA) if flags.queue else spec,
        lint=lint_commands(choose_linters(flags.lint, config.root), config.root),
        fail_under=fail_under,
        default_branch=check_branch("the default branch", default_branch(config)),
        store=check_path("[tool.fastci] store", config.store),
        wheelhouse=check_path("[tool.fastci.deps] wheelhouse", config.deps_wheelhouse),
        include=rules.include,
        exclude=rules.exclude,
        pin_sha=flags.pin_sha,
        command=_command(flags, shards, pythons),
        queue=flags.queue,
        affected=flags.affected,
    )


def _command(flags: WorkflowFlags, shards: int, pythons: Sequence[str]) -> str:
    """The command line that writes the workflow again, for its header (and fastci doctor)."""
    words = [f"fastci workflow {flags.provider}", f"--shards {shards}"]
    words += [f"--python {version}" for version in pythons]
    if flags.fastci_spec != "fastci":
        words.append(f"--fastci-spec {sh(flags.fastci_spec)}")
    if flags.lint != "auto":
        words.append(f"--lint {sh(flags.lint)}")
    if flags.fail_under is not None:
        words.append(f"--fail-under {flags.fail_under:g}")
    if flags.pin_sha:
        words.append("--pin-sha")
    if flags.queue:
        words.append("--queue")
    if flags.affected != "pull-requests":
        words.append(f"--affected {flags.affected}")
    words += [f"{flag} {sh(value)}" for flag, value in flags.settings]
    return " ".join(words)


def ci_shards(config: Config) -> int:
    """The shards a CI pipeline splits into: [tool.fastci] shards when the project sets it
    (even to 1), else DEFAULT_SHARDS."""
    return config.shards if "shards" in read_pyproject_settings(config.root) else DEFAULT_SHARDS


def default_branch(config: Config) -> str:
    """The branch pushes to which run CI: configured, else origin's HEAD, else main or master."""
    if config.changes_default_branch:
        return config.changes_default_branch
    repo = git.toplevel(config.root)
    if repo is not None:
        for remote in git.remotes(repo):
            branch = git.remote_head_branch(repo, remote)
            if branch:
                return branch
        current = git.current_branch(repo)
        if current in ("main", "master"):
            return current
    return "main"


# -- YAML text


Value = str | int | bool  # a YAML value: a string, or a number or boolean written as one


def block(key: str, value: Value, indent: int) -> list[str]:
    """``key: value``: a string of many lines as a literal block, of one line as a scalar."""
    pad = " " * indent
    if isinstance(value, bool):
        return [f"{pad}{key}: {'true' if value else 'false'}"]
    if isinstance(value, int):
        return [f"{pad}{key}: {value}"]
    lines = value.strip("\n").splitlines()
    if len(lines) == 1:
        return [f"{pad}{key}: {scalar(lines[0])}"]
    return [f"{pad}{key}: |", *(f"{pad}  {line}" if line else "" for line in lines)]


def comment(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}# {line}" if line else f"{pad}#" for line in text.strip("\n").splitlines()]


def header(title: str, options: WorkflowOptions) -> list[str]:
    return [
        f"# {title}",
        f"# Written by `{options.command}` (fastci {__version__}).",
        "# Edit it freely: running the command again shows the difference and keeps hand",
        "# edits unless given --force. How each job works and why: fastci's docs/ci.md.",
        DIGEST_PREFIX,
    ]


def seal(lines: Sequence[str]) -> str:
    """The text of ``lines`` with the digest line filled in."""
    text = "\n".join(lines).rstrip("\n") + "\n"
    digest = content_digest(text)
    return text.replace(DIGEST_PREFIX + "\n", f"{DIGEST_PREFIX}{digest}\n", 1)


def content_digest(text: str) -> str:
    kept = [line for line in text.splitlines() if not line.startswith(DIGEST_PREFIX)]
    return hashlib.sha256("\n".join(kept).encode("utf-8")).hexdigest()


def hand_edited(text: str) -> bool:
    """Whether ``text`` differs from what fastci wrote (or fastci did not write it at all)."""
    for line in text.splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].strip() != content_digest(text)
    return True


# -- writing the file


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """What writing a workflow did: 'created', 'updated', 'unchanged' or 'refused'."""

    status: str
    diff: str = ""


def write_workflow(path: Path, text: str, force: bool = False) -> WriteResult:
    """Write ``text`` to ``path`` unless that would overwrite hand edits (without ``force``)."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory; move it aside to write the workflow")
    if not path.exists():
        write_atomically(path, text)
        return WriteResult("created")
    try:
        old = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path} ({e}); move it aside or fix it") from None
    if old == text:
        return WriteResult("unchanged")
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{path.name} (now)",
            tofile=f"{path.name} (fastci)",
        )
    )
    if hand_edited(old) and not force:
        return WriteResult("refused", diff)
    write_atomically(path, text)
    return WriteResult("updated", diff)
