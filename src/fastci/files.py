"""Writing files so that no reader ever sees half of one, and no two writers collide."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from fastci.errors import UsageError


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A scratch path beside ``path`` that replaces it when the block ends without error.

    The scratch name is unique to this process, so concurrent writers never share one; on an
    error the scratch file is removed and ``path`` keeps what it had.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.partial")
    scratch.unlink(missing_ok=True)
    try:
        yield scratch
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` in one step (its directory made if missing); a
    failure is a one-line UsageError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as scratch:
            if isinstance(data, bytes):
                scratch.write_bytes(data)
            else:
                scratch.write_text(data, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None


# fastci's own directory in a project: created with a .gitignore, as pytest does its cache.
STATE_DIR = ".fastci"


def ensure_dir(path: Path) -> None:
    """Create ``path`` and its parents; a new ``.fastci`` among them ignores itself in git."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        if created.name == STATE_DIR:
            (created / ".gitignore").write_text("# created by fastci\n*\n", encoding="utf-8")


def writable_directory(directory: Path, refusal: str) -> None:
    """Make ``directory`` (as ensure_dir does) or raise a one-line UsageError that starts with
    ``refusal`` and says why: checked before the work, so no work is lost to a bad path."""
    reason = None
    if directory.exists() and not directory.is_dir():
        reason = f"{directory} is a file"
    else:
        try:
            ensure_dir(directory)
        except OSError as e:
            reason = e.strerror
        else:
            if not os.access(directory, os.W_OK | os.X_OK):
                reason = f"{directory} is not writable"
    if reason is not None:
        raise UsageError(f"{refusal}: {reason}; pass a path fastci can write to")
