"""The wheelhouse: one directory of wheels per key, its build and prune.

Layout under the wheelhouse root (default ``.cache/wheels``)::

    <key>/manifest.json   key inputs, resolved pins, each wheel's sha256 and size
    <key>/*.whl           one wheel per pin; file names only, so the directory is relocatable
    .staging-<key>-*/     a build in progress; renamed to <key> only once complete

A directory named after a key with a manifest.json inside is complete by construction: the
manifest is written last, into the staging directory, and the rename is atomic. A wheelhouse
restored from a CI cache is still checked before anything installs (see verify.py).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from fastci.deps.backend import Target, run_tool
from fastci.deps.hashes import Hashes, exact_version, pin_key
from fastci.deps.inputs import Sources
from fastci.deps.key import Key
from fastci.deps.manifest import MANIFEST, Manifest, Wheel, read_manifest, write_manifest
from fastci.deps.resolve import Resolution, pin_name, resolve
from fastci.deps.verify import check, check_files, sha256_of, unlisted_files
from fastci.errors import ExitCode, FastciError

__all__ = ["BuildResult", "build_wheelhouse", "prune", "read_manifest", "with_hashes"]

STAGING_PREFIX = ".staging-"
STALE_STAGING_SECONDS = 3600  # a staging directory untouched this long is a dead build's
# Wheels in a directory by canonical name: [(version, path)], read once per directory.
WheelIndex = dict[str, list[tuple[str, Path]]]
# A wheel another wheelhouse here lists for a pin, by pin_key: (its file, its entry).
Candidates = dict[tuple[str, str], tuple[Path, Wheel]]


@dataclasses.dataclass(frozen=True)
class BuildResult:
    directory: Path
    manifest: Manifest
    reused: int  # wheels taken from this or another wheelhouse
    fetched: int  # wheels downloaded or built
    up_to_date: bool
    previous: Manifest | None = None  # the newest other wheelhouse for this Python, if any


def build_wheelhouse(root: Path, key: Key, sources: Sources, target: Target) -> BuildResult:
    """Make ``root/<key>`` complete: resolve, reuse the wheels already here, fetch the rest."""
    directory = root / key.value
    existing = read_manifest(directory)
    if existing is not None and _complete(directory, existing, sources.hashes):
        count = len({w.file for w in existing.wheels})
        return BuildResult(directory, existing, count, 0, up_to_date=True)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{key.value}-", dir=root))
    try:
        with tempfile.TemporaryDirectory(prefix="fastci-deps-") as work:
            runtime, build = resolve(sources, target, Path(work))
            candidates, previous = _candidates(root, key)
            reused = _reuse(runtime.pins + build.pins, candidates, sources.hashes, staging)
            # The set's pins come through the requirement files' index options; the build
            # requirements were resolved without them.
            for resolution, options in ((runtime, sources.fetch_options), (build, ())):
                present = _index(staging)
                missing = [p for p in resolution.pins if _wheel_for(p, present) is None]
                if resolution is runtime:
                    missing = with_hashes(missing, sources.hashes)
                _fetch([*options, *missing], staging, target, Path(work))
            present = _index(staging)
            manifest = Manifest(
                key=key.value,
                inputs=key.to_json()["inputs"],
                packages=_record(runtime, present, reused),
                build_packages=_record(build, present, reused),
                local=runtime.local,
                backend=target.backend.name,
            )
        write_manifest(staging, manifest)
        _replace(staging, directory, sources.hashes)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    reused_files = len({w.file for w in reused.values()})
    fetched = len({w.file for w in manifest.wheels}) - reused_files
    return BuildResult(directory, manifest, reused_files, fetched, False, previous)


def _complete(directory: Path, manifest: Manifest, trusted: Hashes) -> bool:
    """Every listed wheel there, as recorded and trusted, and nothing else."""
    return not unlisted_files(directory, manifest) and not check(
        directory, manifest.wheels, trusted
    )


def _candidates(root: Path, key: Key) -> tuple[Candidates, Manifest | None]:
    """Where the wheelhouses here built for the same Python and platform keep each pin's
    wheel (unchecked: a build hashes only those it needs), and the newest of those other
    wheelhouses (whose inputs tell why the key changed)."""
    same = {i.name: i.digest for i in key.inputs if i.name in ("python", "platform")}
    candidates: Candidates = {}
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
        for wheel in manifest.wheels:
            found = (directory / wheel.file, wheel)
            candidates.setdefault(pin_key(wheel.name, wheel.version), found)
    return candidates, None if newest is None else newest[1]


def _reuse(
    pins: Sequence[str], candidates: Candidates, trusted: Hashes, staging: Path
) -> dict[str, Wheel]:
    """Link into ``staging`` every pinned wheel a wheelhouse here has, once it checks out
    against its manifest and the repository's hashes; the reused wheels by pin."""
    wanted = {}
    for pin in dict.fromkeys(pins):
        version = exact_version(Requirement(pin))
        found = candidates.get(pin_key(pin_name(pin), version)) if version else None
        if found is not None:
            wanted[pin] = found
    bad = {p.wheel for p in check_files(list(wanted.values()), trusted)}
    reused = {}
    for pin, (source, wheel) in wanted.items():
        if wheel not in bad:
            link_or_copy(source, staging / wheel.file)
            reused[pin] = wheel
    return reused


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows one, else a copy."""
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def with_hashes(pins: list[str], hashes: Hashes) -> list[str]:
    """The pins with the --hash values the requirement and lock files give them, so pip
    checks every download against them; unchanged unless every pin has some (pip's
    hash-checking mode is all or nothing)."""
    found = [hashes.get(pin_key(pin_name(p), exact_version(Requirement(p)) or "")) for p in pins]
    if not pins or any(h is None for h in found):
        return pins
    return [
        " ".join([pin, *(f"--hash={h}" for h in pin_hashes or ())])
        for pin, pin_hashes in zip(pins, found, strict=True)
    ]


def _index(directory: Path) -> WheelIndex:
    index: WheelIndex = {}
    for path in sorted(directory.glob("*.whl")):
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        index.setdefault(name, []).append((str(version), path))
    return index


def _wheel_for(pin: str, index: WheelIndex) -> Path | None:
    version = exact_version(Requirement(pin))
    for found, path in index.get(pin_name(pin), ()):
        if version is None or pin_key("", found) == pin_key("", version):
            return path
    return None


def _fetch(pins: Sequence[str], staging: Path, target: Target, work: Path) -> None:
    """Download the prebuilt wheels of ``pins`` and build the ones only published as sdists.

    ``pins`` may start with option lines (--index-url …) from the project's requirement files.
    """
    if not any(not pin.startswith("-") for pin in pins):
        return
    listing = work / "fetch.txt"
    listing.write_text("\n".join(pins) + "\n", encoding="utf-8")
    try:
        run_tool(
            [*target.pip(), "wheel", "--no-deps", "--progress-bar", "off",
             "--disable-pip-version-check", "--wheel-dir", str(staging), *target.index_arguments(),
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


def _record(
    resolution: Resolution, present: WheelIndex, reused: dict[str, Wheel]
) -> tuple[Wheel, ...]:
    """A manifest entry per pin; only the wheels downloaded or built are hashed here."""
    wheels = []
    for pin in resolution.pins:
        if pin in reused:
            wheels.append(reused[pin])
            continue
        path = _wheel_for(pin, present)
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


def _replace(staging: Path, directory: Path, trusted: Hashes) -> None:
    """Move a finished staging directory into place; an old, incomplete one goes first.

    A complete wheelhouse that appeared meanwhile (a concurrent build of the same key) is
    kept and ours dropped: someone may already be installing from it.
    """
    current = read_manifest(directory)
    if current is not None and _complete(directory, current, trusted):
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
