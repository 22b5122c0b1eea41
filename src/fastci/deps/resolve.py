"""Resolution: the inputs turned into exact pins for one interpreter, by uv or pip."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from fastci.deps.backend import Backend, Target, find_uv, run_tool
from fastci.deps.inputs import Sources, pylock_constraints
from fastci.errors import ExitCode, FastciError


@dataclasses.dataclass(frozen=True)
class Resolution:
    """Exact pins (``name==version`` or ``name @ url``) and what was left out of the set."""

    pins: tuple[str, ...]
    local: tuple[str, ...]  # editables and local directories: the project's own code


def pin_name(pin: str) -> str:
    return canonicalize_name(Requirement(pin).name)


def resolve(sources: Sources, target: Target, workdir: Path) -> tuple[Resolution, Resolution]:
    """Pins of the installed set, and of the project's build requirements."""
    files, constraints = requirement_files(sources, target.backend, workdir)
    runtime = _resolve(files, constraints, target, workdir, "set")
    build = Resolution((), ())
    if sources.build_requirements:
        requires = workdir / "build-requirements.txt"
        requires.write_text("\n".join(sources.build_requirements) + "\n", encoding="utf-8")
        build = _resolve([requires], [], target, workdir, "build")
    return runtime, build


def requirement_files(
    sources: Sources, backend: Backend, workdir: Path
) -> tuple[list[Path], list[Path]]:
    """Requirement and constraint files naming the whole set (new ones written to workdir)."""
    files = list(sources.requirement_files)
    if sources.project_requirements:
        project = workdir / "pyproject-requirements.txt"
        project.write_text("\n".join(sources.project_requirements) + "\n", encoding="utf-8")
        files.append(project)
    if not files:
        return [], []
    return files, lock_constraints(sources, backend, workdir)


def pip_arguments(files: Sequence[Path], constraints: Sequence[Path]) -> list[str]:
    """The files as ``-r``/``-c`` arguments, as pip and ``uv pip install`` take them."""
    return [arg for f in files for arg in ("-r", str(f))] + [
        arg for c in constraints for arg in ("-c", str(c))
    ]


def lock_constraints(sources: Sources, backend: Backend, workdir: Path) -> list[Path]:
    """Lock files as constraint files, so the wheelhouse holds the locked versions."""
    constraints = []
    for lock in sources.lock_files:
        target = workdir / f"constraints-{lock.name}.txt"
        if lock.name == "uv.lock":
            exported = run_tool(
                [_lock_reader(backend), "export", "--frozen", "--format", "requirements-txt",
                 "--no-hashes", "--no-header", "--no-annotate", "--all-extras", "--all-groups",
                 "--no-emit-project", "--quiet"],
                f"reading {lock.name}",
                cwd=str(sources.root),
            )  # fmt: skip
            lines = [
                line
                for line in exported.stdout.splitlines()
                if line.strip() and not line.lstrip().startswith(("-e", "#", "."))
            ]
        else:
            lines = pylock_constraints(lock)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        constraints.append(target)
    return constraints


def _lock_reader(backend: Backend) -> str:
    """uv, which alone reads uv.lock, even when pip is the installer."""
    uv = backend.uv or find_uv()
    if uv is None:
        raise FastciError(
            "this project's uv.lock is read by uv, which is not installed: "
            "pip install 'fastci[deps]'",
            ExitCode.DEPENDENCIES_FAILED,
        )
    return uv


def _resolve(
    files: Sequence[Path], constraints: Sequence[Path], target: Target, workdir: Path, label: str
) -> Resolution:
    if not files:
        return Resolution((), ())
    index = target.index_arguments()
    interpreter, backend = target.interpreter, target.backend
    if backend.uv is not None:
        output = workdir / f"{label}-pins.txt"
        run_tool(
            [backend.uv, "pip", "compile", "--python", interpreter.executable, "--no-header",
             "--no-annotate", "--quiet", "--color", "never", "--output-file", str(output),
             *index, *map(str, files), *[a for c in constraints for a in ("-c", str(c))]],
            "resolving the dependency set",
        )  # fmt: skip
        return _from_compiled(output.read_text(encoding="utf-8").splitlines())
    report = workdir / f"{label}-report.json"
    run_tool(
        [*backend.pip(interpreter), "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), *index, *pip_arguments(files, constraints)],
        "resolving the dependency set",
    )  # fmt: skip
    return _from_pip_report(json.loads(report.read_text(encoding="utf-8")))


def _from_compiled(lines: Sequence[str]) -> Resolution:
    pins: list[str] = []
    local: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-e ") or _is_local_directory(line):
            local.append(line)
            continue
        if line.startswith("-"):
            continue  # an option uv echoed, such as --index-url
        try:
            Requirement(line)
        except InvalidRequirement:
            local.append(line)
            continue
        pins.append(line)
    return Resolution(tuple(sorted(pins, key=pin_name)), tuple(local))


def _from_pip_report(report: dict[str, Any]) -> Resolution:
    """Pins from ``pip install --dry-run --report`` (pip's installation report format 1)."""
    pins: list[str] = []
    local: list[str] = []
    for item in report.get("install", []):
        metadata = item["metadata"]
        name, version = metadata["name"], metadata["version"]
        download = item.get("download_info", {})
        url = download.get("url", "")
        if "dir_info" in download:
            local.append(f"{name} @ {url}")
        elif item.get("is_direct"):
            pins.append(f"{name} @ {url}")
        else:
            pins.append(f"{name}=={version}")
    return Resolution(tuple(sorted(pins, key=pin_name)), tuple(local))


def _is_local_directory(line: str) -> bool:
    if " @ file:" not in line:
        return False
    path = Path(unquote(urlparse(line.split(" @ ", 1)[1].split(";", maxsplit=1)[0].strip()).path))
    return path.is_dir()
