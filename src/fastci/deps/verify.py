"""Checking wheels before they are trusted: against the manifest, and against the hashes
the repository's own requirement and lock files give (a cache can rewrite a manifest)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastci.deps.hashes import Hashes, sha256_listed
from fastci.deps.manifest import MANIFEST, Manifest, Wheel
from fastci.errors import ExitCode, FastciError

HASH_WORKERS = 4


@dataclasses.dataclass(frozen=True)
class BadWheel:
    """A wheel the manifest lists that cannot be installed as it is."""

    wheel: Wheel
    # "missing"; "corrupt": not the file the manifest lists; "untrusted": its hash is none
    # of those the repository's requirement or lock files give for the pin
    reason: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(files: Sequence[tuple[Path, Wheel]], trusted: Hashes) -> list[BadWheel]:
    """Every wheel whose file is missing, differs from its manifest entry (size, then
    sha256), or whose manifest hash the repository's hashes for the pin do not include."""

    def problem(path: Path, wheel: Wheel) -> BadWheel | None:
        try:
            size = path.stat().st_size
        except OSError:
            return BadWheel(wheel, "missing")
        if not is_trusted(wheel, trusted):
            return BadWheel(wheel, "untrusted")
        if size != wheel.size or sha256_of(path) != wheel.sha256:
            return BadWheel(wheel, "corrupt")
        return None

    with ThreadPoolExecutor(HASH_WORKERS) as pool:  # hashlib releases the GIL on large reads
        found = pool.map(problem, *zip(*files, strict=True)) if files else iter(())
        return [p for p in found if p is not None]


def is_trusted(wheel: Wheel, trusted: Hashes) -> bool:
    """Whether the repository accepts the wheel's recorded hash, or gives none for its pin."""
    accepted = sha256_listed(trusted, wheel.name, wheel.version)
    return accepted is None or wheel.sha256 in accepted


def check(directory: Path, wheels: Iterable[Wheel], trusted: Hashes) -> list[BadWheel]:
    """check_files for wheels of one wheelhouse."""
    return check_files([(directory / w.file, w) for w in wheels], trusted)


def unlisted_files(directory: Path, manifest: Manifest) -> list[str]:
    """Files in a wheelhouse its manifest does not name: never made by a build."""
    listed = {w.file for w in manifest.wheels} | {MANIFEST}
    return sorted(p.name for p in directory.iterdir() if p.name not in listed)


def refuse_unlisted(directory: Path, manifest: Manifest) -> None:
    """A wheelhouse with files a build did not put there was altered: install nothing."""
    extra = unlisted_files(directory, manifest)
    if extra:
        raise FastciError(
            f"wheelhouse {directory} holds files its manifest does not list ({', '.join(extra)}): "
            "it was changed after it was built; delete it and run 'fastci deps build'",
            ExitCode.DEPENDENCIES_FAILED,
        )
