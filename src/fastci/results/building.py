"""Building a directory under a scratch name and swapping it into place, safe against rivals.

Two runs may write the same bundle at once (two shards given one slug, a re-run over an old
result). Each builds in its own scratch directory, ``NAME.partial-PID-TOKEN``, unique to the
process and the call, then renames it to ``NAME``. An older ``NAME`` is first moved aside to a
hidden ``.NAME.old-PID-TOKEN`` (hidden: merge and artifact uploads skip it) and deleted; when a
rival's directory lands in between, the swap simply goes round again, so the last finisher
wins and neither fails. Scratch and old directories left by processes that died are removed
by the next build of the same name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from fastci.errors import FastciError
from fastci.files import ensure_dir

# What follows a bundle's name while it is being written; the token tells threads apart.
PARTIAL_SUFFIX = r"\.partial-\d+(?:-[0-9a-f]+)?"
# Any scratch or old directory of a name, with the process that made it.
LEFTOVER = r"\.?{name}\.(?:partial|old)-(?P<pid>\d+)(?:-[0-9a-f]+)?"
SWAP_ATTEMPTS = 50  # each lost race means a rival finished: a later round is bound to win
TAKEN = (errno.ENOTEMPTY, errno.EEXIST)  # what rename says when NAME is already a directory


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """A scratch directory that becomes ``final`` (replacing any old one) when the block ends
    without error; on an error it is removed and ``final`` keeps what it had."""
    ensure_dir(final.parent)
    remove_leftovers(final)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    scratch = final.with_name(f"{final.name}.partial-{token}")
    scratch.mkdir()
    try:
        yield scratch
        _swap_in(scratch, final, final.with_name(f".{final.name}.old-{token}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _swap_in(scratch: Path, final: Path, aside: Path) -> None:
    for _ in range(SWAP_ATTEMPTS):
        try:
            scratch.rename(final)
        except OSError as e:
            if e.errno not in TAKEN:
                raise
        else:
            return
        with contextlib.suppress(FileNotFoundError):  # a rival moved it first: try again
            final.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
    raise FastciError(
        f"could not put {final} in place: other processes kept replacing it "
        f"{SWAP_ATTEMPTS} times; give each run its own --results directory"
    )


def remove_leftovers(final: Path) -> list[Path]:
    """Remove the scratch and old directories of ``final`` whose process is gone; those
    removed, for the record."""
    own = re.compile(LEFTOVER.format(name=re.escape(final.name)))
    removed = []
    for path in sorted(final.parent.iterdir()):
        named = own.fullmatch(path.name)
        if named is not None and not _alive(int(named["pid"])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a number no process has: leave it be
    return True
