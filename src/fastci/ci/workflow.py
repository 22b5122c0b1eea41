"""What the GitHub and GitLab workflow writers share: options, YAML text, hand-edit detection.

Workflows are written as text, line by line, so that the file is deterministic, commented and
laid out for the people who will read it. A digest line in the header records what fastci
wrote; a file whose content no longer matches it has been edited by hand.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from fastci import __version__
from fastci.changes import git
from fastci.config import Config, read_pyproject, read_pyproject_settings
from fastci.errors import UsageError
from fastci.files import write_atomically

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised on Python 3.10 only
    pass

DIGEST_PREFIX = "# fastci-digest: sha256:"
DEFAULT_SHARDS = 4
DEFAULT_PYTHON = "3.12"
MAX_MATRIX_JOBS = 256  # GitHub's limit for one matrix
LINTERS = ("ruff", "mypy")
PYTHON_VERSION = re.compile(r"^(pypy)?3\.\d+[0-9a-z.-]*$")
MYPY_FILES_LINE = re.compile(r"^\s*files\s*=", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class WorkflowOptions:
    """Everything a workflow depends on: flags and what was read from the project."""

    shards: int
    pythons: tuple[str, ...]
    fastci_spec: str  # what `pip install` installs as fastci
    lint: tuple[str, ...]  # a subset of LINTERS, in that order
    mypy_command: str  # `mypy` when the config names the files, else `mypy .`
    fail_under: float | None
    default_branch: str
    store: str  # the timings store, relative to the project root
    wheelhouse: str = ".cache/wheels"  # where fastci deps keeps one wheelhouse per key
    include: tuple[str, ...] = ()  # the gate's patterns (GitLab writes them into rules)
    exclude: tuple[str, ...] = ()
    pin_sha: bool = False
    command: str = ""  # the command line that wrote the file, for its header

    @property
    def primary_python(self) -> str:
        return self.pythons[0]

    @property
    def merge_flags(self) -> str:
        flags = f"--expect-shards {self.shards}"
        if self.fail_under is not None:
            flags += f" --fail-under {self.fail_under:g}"
        return flags


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
    if not 0 <= number <= 100:
        raise ValueError("a percentage from 0 to 100")
    return number


def options_for_project(
    config: Config,
    *,
    provider: str,
    shards: int | None,
    pythons: Sequence[str],
    fastci_spec: str,
    lint: str,
    fail_under: float | None,
    pin_sha: bool,
) -> WorkflowOptions:
    """Resolve the options for ``config.root``: flags first, then the project, then defaults."""
    from fastci.changes.gate import GateRules

    if shards is None:
        shards = ci_shards(config)
    pythons = tuple(dict.fromkeys(pythons)) or (DEFAULT_PYTHON,)
    if shards * len(pythons) > MAX_MATRIX_JOBS:
        raise UsageError(
            f"{shards} shards x {len(pythons)} Python versions is more than the "
            f"{MAX_MATRIX_JOBS} jobs one GitHub matrix may have; use fewer shards"
        )
    if not fastci_spec.strip() or "\n" in fastci_spec:
        raise UsageError("--fastci-spec must be one pip requirement, like fastci==0.1.0")
    if fail_under is not None and not 0 <= fail_under <= 100:
        raise UsageError(f"--fail-under must be a percentage from 0 to 100, got {fail_under:g}")
    rules = GateRules.from_config(config)
    words = [f"fastci workflow {provider}", f"--shards {shards}"]
    words += [f"--python {version}" for version in pythons]
    if fastci_spec != "fastci":
        words.append(f"--fastci-spec '{fastci_spec}'")
    if lint != "auto":
        words.append(f"--lint {lint}")
    if fail_under is not None:
        words.append(f"--fail-under {fail_under:g}")
    if pin_sha:
        words.append("--pin-sha")
    return WorkflowOptions(
        shards=shards,
        pythons=pythons,
        fastci_spec=fastci_spec.strip(),
        lint=choose_linters(lint, config.root),
        mypy_command="mypy" if mypy_names_its_files(config.root) else "mypy .",
        fail_under=fail_under,
        default_branch=default_branch(config),
        store=config.store,
        wheelhouse=config.deps_wheelhouse,
        include=rules.include,
        exclude=rules.exclude,
        pin_sha=pin_sha,
        command=" ".join(words),
    )


def choose_linters(lint: str, root: Path) -> tuple[str, ...]:
    """--lint: 'auto' (ruff, and mypy when the project configures it), 'none' or a list."""
    if lint == "auto":
        return ("ruff", "mypy") if mypy_configured(root) else ("ruff",)
    if lint == "none":
        return ()
    names = {name.strip() for name in lint.split(",") if name.strip()}
    unknown = names - set(LINTERS)
    if unknown or not names:
        raise UsageError(
            f"--lint {lint!r}: expected 'auto', 'none' or a comma-separated list of "
            + ", ".join(LINTERS)
        )
    return tuple(name for name in LINTERS if name in names)


def _mypy_config_texts(root: Path) -> list[str]:
    texts = []
    for name in ("mypy.ini", ".mypy.ini"):
        if (root / name).is_file():
            texts.append((root / name).read_text(encoding="utf-8", errors="replace"))
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        text = setup_cfg.read_text(encoding="utf-8", errors="replace")
        if "[mypy]" in text:
            texts.append(text)
    return texts


def ci_shards(config: Config) -> int:
    """The shards a CI pipeline splits into: [tool.fastci] shards when the project sets it
    (even to 1), else DEFAULT_SHARDS."""
    return config.shards if "shards" in read_pyproject_settings(config.root) else DEFAULT_SHARDS


def _pyproject_mypy(root: Path) -> dict[str, object] | None:
    try:
        tool = read_pyproject(root).get("tool", {})
    except UsageError:
        return None  # load_config has already reported a broken pyproject.toml
    table = tool.get("mypy") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def mypy_configured(root: Path) -> bool:
    return _pyproject_mypy(root) is not None or bool(_mypy_config_texts(root))


def mypy_names_its_files(root: Path) -> bool:
    table = _pyproject_mypy(root)
    if table is not None and table.get("files"):
        return True
    return any(MYPY_FILES_LINE.search(text) for text in _mypy_config_texts(root))


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


def q(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(value)


def block(key: str, text: str, indent: int) -> list[str]:
    """``key: |`` followed by ``text`` as a literal block, or one line when it is one line."""
    pad = " " * indent
    lines = text.strip("\n").splitlines()
    if len(lines) == 1:
        return [f"{pad}{key}: {lines[0]}"]
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
