"""The wheelhouse: one directory of wheels per key, its manifest, its build, check and prune.

Layout under the wheelhouse root (default ``.cache/wheels``)::

    <key>/manifest.json   key inputs, resolved pins, each wheel's sha256 and size
    <key>/*.whl           one wheel per pin; file names only, so the directory is relocatable
    .staging-<key>-*/     a build in progress; renamed to <key> only once complete

A directory named after a key with a manifest.json inside is complete by construction: the
manifest is written last, into the staging directory, and the rename is atomic. A wheelhouse
restored from a CI cache is still checked against its manifest before anything installs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from fastci.deps.backend import Backend, run_tool
from fastci.deps.inputs import Sources
from fastci.deps.interpreter import Interpreter
from fastci.deps.key import Key
from fastci.deps.resolve import Resolution, pin_name, resolve
from fastci.errors import ExitCode, FastciError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
STAGING_PREFIX = ".staging-"
STALE_STAGING_SECONDS = 3600  # a staging directory untouched this long is a dead build's
HASH_WORKERS = 4


@dataclasses.dataclass(frozen=True)
class Wheel:
    """One wheel of the wheelhouse as the manifest records it."""

    name: str
    version: str
    file: str
    sha256: str
    size: int

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a complete wheelhouse holds and which key inputs it was built from."""

    key: str
    inputs: dict[str, Any]
    packages: tuple[Wheel, ...]  # installed into the environment
    build_packages: tuple[Wheel, ...]  # the project's build requirements, for --project
    local: tuple[str, ...]  # editables and local directories, never in the wheelhouse
    backend: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "key": self.key,
            "backend": self.backend,
            "inputs": self.inputs,
            "packages": [dataclasses.asdict(w) for w in self.packages],
            "build_packages": [dataclasses.asdict(w) for w in self.build_packages],
            "local": list(self.local),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
        return cls(
            key=str(data["key"]),
            inputs=dict(data["inputs"]),
            packages=tuple(Wheel(**w) for w in data["packages"]),
            build_packages=tuple(Wheel(**w) for w in data["build_packages"]),
            local=tuple(data.get("local", ())),
            backend=str(data.get("backend", "")),
        )


@dataclasses.dataclass(frozen=True)
class Problem:
    """A wheel the manifest lists that is absent or not the file that was built."""

    wheel: Wheel
    reason: str  # "missing" or "corrupt"


@dataclasses.dataclass(frozen=True)
class BuildResult:
    directory: Path
    manifest: Manifest
    reused: int  # wheels taken from this or another wheelhouse
    fetched: int  # wheels downloaded or built
    up_to_date: bool
    previous: Manifest | None = None  # the newest other wheelhouse for this Python, if any


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of a complete wheelhouse; None when absent or unreadable (incomplete)."""
    try:
        return Manifest.from_json(json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(directory: Path, wheels: Iterable[Wheel]) -> list[Problem]:
    """Every wheel whose file is missing or whose size or sha256 differs from the manifest."""

    def problem(wheel: Wheel) -> Problem | None:
        path = directory / wheel.file
        try:
            if path.stat().st_size != wheel.size:
                return Problem(wheel, "corrupt")
        except OSError:
            return Problem(wheel, "missing")
        return None if sha256_of(path) == wheel.sha256 else Problem(wheel, "corrupt")

    with ThreadPoolExecutor(HASH_WORKERS) as pool:  # hashlib releases the GIL on large reads
        return [p for p in pool.map(problem, wheels) if p is not None]


def build_wheelhouse(
    root: Path,
    key: Key,
    sources: Sources,
    interpreter: Interpreter,
    backend: Backend,
    index_url: str | None,
) -> BuildResult:
    """Make ``root/<key>`` complete: resolve, reuse the wheels already here, fetch the rest."""
    directory = root / key.value
    existing = read_manifest(directory)
    if existing is not None and not check(directory, _all_wheels(existing)):
        count = len({w.file for w in _all_wheels(existing)})
        return BuildResult(directory, existing, count, 0, up_to_date=True)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{key.value}-", dir=root))
    try:
        with tempfile.TemporaryDirectory(prefix="fastci-deps-") as work:
            runtime, build = resolve(sources, interpreter, backend, Path(work), index_url)
            known, previous = _known_wheels(root, key)
            reused = _link_known(runtime.pins + build.pins, known, staging)
            # The set's pins come through the requirement files' index options; the build
            # requirements were resolved without them.
            for resolution, options in ((runtime, sources.fetch_options), (build, ())):
                missing = [p for p in resolution.pins if _wheel_for(p, staging) is None]
                if resolution is runtime:
                    missing = with_hashes(missing, sources.hashes)
                _fetch([*options, *missing], staging, interpreter, backend, Path(work), index_url)
            manifest = Manifest(
                key=key.value,
                inputs=key.to_json()["inputs"],
                packages=_record(runtime, staging),
                build_packages=_record(build, staging),
                local=runtime.local,
                backend=backend.name,
            )
        _write_json(staging / MANIFEST, manifest.to_json())
        _replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fetched = len({w.file for w in _all_wheels(manifest)}) - reused
    return BuildResult(directory, manifest, reused, fetched, up_to_date=False, previous=previous)


def _all_wheels(manifest: Manifest) -> tuple[Wheel, ...]:
    return manifest.packages + manifest.build_packages


def _known_wheels(root: Path, key: Key) -> tuple[dict[tuple[str, str], Path], Manifest | None]:
    """Checked wheels of every wheelhouse here built for the same Python and platform, and
    the newest of those wheelhouses (whose inputs tell why the key changed)."""
    same = {i.name: i.digest for i in key.inputs if i.name in ("python", "platform")}
    known: dict[tuple[str, str], Path] = {}
    newest: tuple[float, Manifest] | None = None
    for directory in sorted(root.iterdir()) if root.is_dir() else ():
        manifest = read_manifest(directory)
        if manifest is None or any(
            manifest.inputs.get(name, {}).get("sha256") != digest for name, digest in same.items()
        ):
            continue
        built = (directory / MANIFEST).stat().st_mtime
        if manifest.key != key.value and (newest is None or built > newest[0]):
            newest = (built, manifest)
        bad = {p.wheel.file for p in check(directory, _all_wheels(manifest))}
        for wheel in _all_wheels(manifest):
            if wheel.file not in bad:
                known[(wheel.name, wheel.version)] = directory / wheel.file
    return known, None if newest is None else newest[1]


def _link_known(pins: Sequence[str], known: dict[tuple[str, str], Path], staging: Path) -> int:
    linked = 0
    for pin in dict.fromkeys(pins):
        version = _exact_version(pin)
        source = known.get((pin_name(pin), version)) if version else None
        if source is None or (staging / source.name).exists():
            continue
        try:
            os.link(source, staging / source.name)
        except OSError:
            shutil.copy2(source, staging / source.name)
        linked += 1
    return linked


def with_hashes(pins: list[str], hashes: Mapping[tuple[str, str], tuple[str, ...]]) -> list[str]:
    """The pins with the --hash values the requirement files give them, so pip checks every
    download against them; unchanged unless every pin has some (pip's hash-checking mode
    is all or nothing)."""
    found = [hashes.get((pin_name(pin), _exact_version(pin) or "")) for pin in pins]
    if not pins or any(h is None for h in found):
        return pins
    return [
        " ".join([pin, *(f"--hash={h}" for h in pin_hashes or ())])
        for pin, pin_hashes in zip(pins, found, strict=True)
    ]


def _exact_version(pin: str) -> str | None:
    requirement = Requirement(pin)
    specs = list(requirement.specifier)
    if requirement.url is None and len(specs) == 1 and specs[0].operator in ("==", "==="):
        return specs[0].version
    return None


def _wheel_for(pin: str, directory: Path) -> Path | None:
    name, version = pin_name(pin), _exact_version(pin)
    for path in sorted(directory.glob("*.whl")):
        try:
            wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        if wheel_name == name and (version is None or str(wheel_version) == version):
            return path
    return None


def _fetch(
    pins: Sequence[str],
    staging: Path,
    interpreter: Interpreter,
    backend: Backend,
    work: Path,
    index_url: str | None,
) -> None:
    """Download the prebuilt wheels of ``pins`` and build the ones only published as sdists.

    ``pins`` may start with option lines (--index-url …) from the project's requirement files.
    """
    if not any(not pin.startswith("-") for pin in pins):
        return
    listing = work / "fetch.txt"
    listing.write_text("\n".join(pins) + "\n", encoding="utf-8")
    index = backend.index_arguments(index_url)
    try:
        run_tool(
            [*backend.pip(interpreter), "wheel", "--no-deps", "--progress-bar", "off",
             "--disable-pip-version-check", "--wheel-dir", str(staging), *index,
             "--requirement", str(listing)],
            "downloading and building wheels",
            env={"PIP_NO_INPUT": "1"},
        )  # fmt: skip
    except FastciError as e:
        if "DO NOT MATCH THE HASHES" in (e.details or ""):
            raise FastciError(
                "a download does not match the --hash your requirement files give it (the "
                "package is named above): the index served another file; check the index, "
                "or update the hash if the release really changed",
                ExitCode.DEPENDENCIES_FAILED,
                details=e.details,
            ) from None
        failed = _failed_builds(e.details or "")
        if not failed:
            raise
        raise FastciError(
            f"could not build a wheel for {', '.join(failed)} (the build's last lines are "
            "above); fix the package, or pin a version that publishes a wheel",
            ExitCode.DEPENDENCIES_FAILED,
            details=e.details,
        ) from None


def _failed_builds(output: str) -> list[str]:
    names = re.findall(
        r"Failed (?:building wheel for|to build) (?!one or more)([A-Za-z0-9._-]+)", output
    )
    for group in re.findall(r"installable wheels for some pyproject\.toml .*?\(([^)]*)\)", output):
        names.extend(n.strip() for n in group.split(","))
    return sorted({canonicalize_name(n) for n in names if n})


def _record(resolution: Resolution, staging: Path) -> tuple[Wheel, ...]:
    wheels = []
    for pin in resolution.pins:
        path = _wheel_for(pin, staging)
        if path is None:
            raise FastciError(
                f"no wheel for {pin} after downloading and building; try 'fastci deps build' "
                "again, or check that the package publishes a wheel or an sdist",
                ExitCode.DEPENDENCIES_FAILED,
            )
        _, version, _, _ = parse_wheel_filename(path.name)
        wheels.append(
            Wheel(pin_name(pin), str(version), path.name, sha256_of(path), path.stat().st_size)
        )
    return tuple(wheels)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _replace(staging: Path, directory: Path) -> None:
    """Move a finished staging directory into place; an old, incomplete one goes first.

    A complete wheelhouse that appeared meanwhile (a concurrent build of the same key) is
    kept and ours dropped: someone may already be installing from it.
    """
    current = read_manifest(directory)
    if current is not None and not check(directory, _all_wheels(current)):
        shutil.rmtree(staging, ignore_errors=True)
        return
    if directory.exists():
        trash = directory.with_name(f"{STAGING_PREFIX}{directory.name}-old-{os.getpid()}")
        directory.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        staging.rename(directory)
    except OSError:
        if read_manifest(directory) is None:  # not a concurrent build that finished first
            raise
        shutil.rmtree(staging, ignore_errors=True)


def prune(root: Path, keep: Iterable[str], dry_run: bool = False) -> list[tuple[Path, int]]:
    """Remove every wheelhouse under ``root`` whose key is not in ``keep``, and dead builds.

    Returns each removed (or, on a dry run, removable) directory with its size in bytes.
    """
    if not root.is_dir():
        return []
    kept = set(keep)
    removed = []
    now = time.time()
    for directory in sorted(root.iterdir()):
        if not directory.is_dir() or directory.name in kept:
            continue
        if directory.name.startswith(STAGING_PREFIX):
            if now - directory.stat().st_mtime < STALE_STAGING_SECONDS:
                continue  # maybe a build still running
        elif read_manifest(directory) is None and not any(directory.glob("*.whl")):
            continue  # not a wheelhouse: leave what fastci did not make alone
        size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
        if not dry_run:
            shutil.rmtree(directory, ignore_errors=True)
        removed.append((directory, size))
    return removed
