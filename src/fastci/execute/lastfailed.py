"""pytest's --lf cache after a run: the failures of every worker, as one run would leave them."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from fastci.errors import FastciError
from fastci.files import write_atomically
from fastci.model import TestResult

# The standard cache-directory tag (https://bford.info/cachedir/), so backups skip the cache.
CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n"


def update_last_failed(cache_dir: Path, results: list[TestResult]) -> None:
    """Keep pytest's --lf cache right: workers each wrote their own view; this is the whole."""
    path = cache_dir / "v" / "cache" / "lastfailed"
    try:
        last_failed = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        last_failed = {}
    if not isinstance(last_failed, dict):
        last_failed = {}
    for result in results:
        if result.failed:
            last_failed[result.id] = True
        else:
            last_failed.pop(result.id, None)
    with contextlib.suppress(OSError, FastciError):
        new_cache = not cache_dir.exists()
        write_atomically(path, json.dumps(last_failed, indent=2, sort_keys=True))
        if new_cache:  # what pytest puts in a cache directory it creates
            write_atomically(cache_dir / ".gitignore", "# created by fastci\n*\n")
            write_atomically(cache_dir / "CACHEDIR.TAG", CACHEDIR_TAG)
