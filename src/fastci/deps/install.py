"""Installing the set from its wheelhouse, offline, once its wheels are checked.

Exactly the files the manifest lists are installed, each by its path: nothing else in the
directory is ever looked at by the installer, so a wheel dropped next to them (say, one with
a higher build tag) cannot win. A directory holding such files is refused outright.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path

from fastci.deps.backend import Target, run_tool
from fastci.deps.inputs import Sources
from fastci.deps.manifest import Wheel, read_manifest
from fastci.deps.resolve import pip_arguments, requirement_files
from fastci.deps.verify import BadWheel, check, refuse_unlisted
from fastci.deps.wheelhouse import link_or_copy, with_hashes
from fastci.errors import ExitCode, FastciError


@dataclasses.dataclass(frozen=True)
class InstallResult:
    directory: Path | None  # None: installed from the index, no wheelhouse (--allow-index)
    packages: int
    from_index: tuple[str, ...]  # pins whose wheel was unusable, fetched from the index instead
    local: tuple[str, ...]  # editables and local directories the wheelhouse leaves out
    project: bool  # the project itself was installed too


def install(
    directory: Path,
    sources: Sources,
    target: Target,
    *,
    allow_index: bool = False,
    project: bool = False,
) -> InstallResult:
    """Install the wheelhouse at ``directory`` into the target; with ``project`` the project.

    ``project`` is ignored for a root that is no installable project (an application with
    just requirement files): the result's ``project`` says whether it was installed.
    """
    project = project and sources.installable
    manifest = read_manifest(directory)
    with tempfile.TemporaryDirectory(prefix="fastci-deps-") as work:
        if manifest is None:
            if not allow_index:
                raise FastciError(
                    f"no complete wheelhouse for this key at {directory}: run 'fastci deps "
                    "build' first (or restore it from your CI cache), or pass --allow-index",
                    ExitCode.DEPENDENCIES_FAILED,
                )
            arguments = pip_arguments(*requirement_files(sources, target.backend, Path(work)))
            if project:
                arguments += ["--editable", str(sources.root)]
            if arguments:
                _install(
                    target, [*target.index_arguments(), *arguments], "installing from the index"
                )
            return InstallResult(None, -1, (), (), project)
        refuse_unlisted(directory, manifest)
        wheels = manifest.packages + (manifest.build_packages if project else ())
        problems = check(directory, wheels, sources.hashes)
        if problems and not allow_index:
            raise wheelhouse_error(problems, directory)
        bad = {p.wheel for p in problems}
        source = target.index_arguments() if problems else _offline(target)
        arguments = ["--no-deps", *source]
        if project:  # its build finds the checked build requirements, and only those
            links = _links(directory, manifest.build_packages, bad, Path(work) / "build")
            arguments += ["--find-links", str(links), "--editable", str(sources.root)]
        files = [str(directory / w.file) for w in manifest.packages if w not in bad]
        if files or project:
            _install(target, [*arguments, *files], f"installing from {directory}")
        fetch = [p.wheel.pin for p in problems if p.wheel in manifest.packages]
        if fetch:
            pins = Path(work) / "from-index.txt"
            pins.write_text("\n".join(with_hashes(fetch, sources.hashes)) + "\n", encoding="utf-8")
            _install(
                target,
                ["--no-deps", *source, "--requirement", str(pins)],
                "installing from the index",
            )
    return InstallResult(directory, len(manifest.packages), tuple(fetch), manifest.local, project)


def _links(directory: Path, wheels: Iterable[Wheel], bad: Collection[Wheel], into: Path) -> Path:
    """A directory holding just the checked ``wheels``, for --find-links."""
    into.mkdir()
    for wheel in wheels:
        if wheel not in bad:
            link_or_copy(directory / wheel.file, into / wheel.file)
    return into


def _offline(target: Target) -> list[str]:
    return ["--offline", "--no-index"] if target.backend.name == "uv" else ["--no-index"]


def _install(target: Target, arguments: list[str], doing: str) -> None:
    backend = target.backend
    if backend.name == "uv" and backend.uv is not None:
        command = [backend.uv, "pip", "install", "--python", target.interpreter.executable]
        run_tool([*command, "--quiet", "--color", "never", *arguments], doing)
    else:
        command = [*target.pip(), "install", "--disable-pip-version-check"]
        run_tool([*command, "--quiet", "--no-input", *arguments], doing)


REASONS = {
    "missing": "missing wheel for {}",
    "corrupt": "wheel does not match its manifest hash for {}",
    "untrusted": "wheel matches none of the hashes your requirement or lock files give for {} "
    "(a wheel built from an sdist never does)",
}


def wheelhouse_error(problems: list[BadWheel], directory: Path) -> FastciError:
    parts = []
    for reason, text in REASONS.items():
        pins = [p.wheel.pin for p in problems if p.reason == reason]
        if pins:
            parts.append(text.format(", ".join(pins)))
    return FastciError(
        f"{'; '.join(parts)} in {directory}: run 'fastci deps build' to repair the "
        "wheelhouse, or pass --allow-index to fetch them from the index",
        ExitCode.DEPENDENCIES_FAILED,
    )
