"""Installing the set from its wheelhouse, offline, once the wheels match their manifest."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from fastci.deps.backend import Backend, run_tool
from fastci.deps.inputs import Sources
from fastci.deps.interpreter import Interpreter
from fastci.deps.key import Key
from fastci.deps.resolve import pip_arguments, requirement_files
from fastci.deps.wheelhouse import Problem, check, read_manifest
from fastci.errors import ExitCode, FastciError


@dataclasses.dataclass(frozen=True)
class InstallResult:
    directory: Path | None  # None: installed from the index, no wheelhouse (--allow-index)
    packages: int
    from_index: tuple[str, ...]  # pins whose wheel was missing, fetched from the index instead
    local: tuple[str, ...]  # editables and local directories the wheelhouse leaves out
    project: bool  # the project itself was installed too


def install(
    wheelhouse_root: Path,
    key: Key,
    sources: Sources,
    interpreter: Interpreter,
    backend: Backend,
    *,
    allow_index: bool = False,
    project: bool = False,
    index_url: str | None = None,
) -> InstallResult:
    """Install the key's wheelhouse into ``interpreter``; with ``project`` the project too.

    ``project`` is ignored for a root that is no installable project (an application with
    just requirement files): the result's ``project`` says whether it was installed.
    """
    project = project and sources.installable
    directory = wheelhouse_root / key.value
    manifest = read_manifest(directory)
    index = backend.index_arguments(index_url)
    with tempfile.TemporaryDirectory(prefix="fastci-deps-") as work:
        if manifest is None:
            if not allow_index:
                raise FastciError(
                    f"no complete wheelhouse for this key at {directory}: run 'fastci deps "
                    "build' first (or restore it from your CI cache), or pass --allow-index",
                    ExitCode.DEPENDENCIES_FAILED,
                )
            arguments = pip_arguments(*requirement_files(sources, backend, Path(work)))
            if project:
                arguments += ["--editable", str(sources.root)]
            if arguments:
                _install(backend, interpreter, [*index, *arguments], "installing from the index")
            return InstallResult(None, -1, (), (), project)
        wheels = manifest.packages + (manifest.build_packages if project else ())
        problems = check(directory, wheels)
        if problems and not allow_index:
            raise missing_wheels_error(problems, directory)
        pins = Path(work) / "pins.txt"
        pins.write_text("".join(f"{w.pin}\n" for w in manifest.packages), encoding="utf-8")
        source = ["--find-links", str(directory)]
        source += [*index] if problems else _offline(backend)
        arguments = ["--no-deps", *source, "--requirement", str(pins)]
        if project:
            arguments += ["--editable", str(sources.root)]
        if manifest.packages or project:
            _install(backend, interpreter, arguments, f"installing from {directory}")
    return InstallResult(
        directory,
        len(manifest.packages),
        tuple(p.wheel.pin for p in problems),
        manifest.local,
        project,
    )


def _offline(backend: Backend) -> list[str]:
    return ["--offline", "--no-index"] if backend.name == "uv" else ["--no-index"]


def _install(backend: Backend, interpreter: Interpreter, arguments: list[str], doing: str) -> None:
    if backend.name == "uv" and backend.uv is not None:
        command = [backend.uv, "pip", "install", "--python", interpreter.executable]
        run_tool([*command, "--quiet", "--color", "never", *arguments], doing)
    else:
        command = [*backend.pip(interpreter), "install", "--disable-pip-version-check"]
        run_tool([*command, "--quiet", "--no-input", *arguments], doing)


def missing_wheels_error(problems: list[Problem], directory: Path) -> FastciError:
    missing = [p.wheel.pin for p in problems if p.reason == "missing"]
    corrupt = [p.wheel.pin for p in problems if p.reason == "corrupt"]
    parts = []
    if missing:
        parts.append(f"missing wheel for {', '.join(missing)}")
    if corrupt:
        parts.append(f"wheel does not match its manifest hash for {', '.join(corrupt)}")
    return FastciError(
        f"{'; '.join(parts)} in {directory}: run 'fastci deps build' to repair the "
        "wheelhouse, or pass --allow-index to fetch them from the index",
        ExitCode.DEPENDENCIES_FAILED,
    )
