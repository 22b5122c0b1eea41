"""Collection errors found without importing a test module: syntax errors, and test files
that pytest's prepend/append import modes would import under one module name."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from fastci.plan.compiled import CompiledFiles
from fastci.plan.inventory import TestFile

# Import modes that put a file's directory on sys.path and import it by its own name.
SYS_PATH_MODES = ("prepend", "append")
PYC_HEADER = 16  # magic, flags, then the source's time and size, or its hash


def module_name(path: Path) -> str:
    """The name pytest's prepend and append modes import a file under: its stem, qualified by
    the packages (directories with an ``__init__.py``) around it."""
    parts = [path.stem]
    here = path.parent
    while (here / "__init__.py").is_file() and here.parent != here:
        parts.insert(0, here.name)
        here = here.parent
    return ".".join(parts)


def _mismatch(first: Path, later: Path) -> str:
    """pytest's words for a second file under a module name already imported."""
    return (
        "import file mismatch:\n"
        f"imported module '{module_name(first)}' has this __file__ attribute:\n"
        f"  {first}\n"
        "which is not the same as the test file we want to collect:\n"
        f"  {later}\n"
        "HINT: remove __pycache__ / .pyc files and/or use a unique basename for your test file "
        "modules"
    )


def _compiled_before(path: Path, source: bytes, mtime: float) -> bool:
    """Whether a bytecode cache written from this very source exists (Python's own, or the
    hash-checked one pytest writes for a test module it rewrote): then it compiled, so no
    need to compile it again."""
    by_time = (int(mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (len(source) & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    by_hash = importlib.util.source_hash(source)
    tag = sys.implementation.cache_tag
    for cache in (path.parent / "__pycache__").glob(f"{path.stem}.{tag}*.pyc"):
        header = _header(cache)
        if len(header) < PYC_HEADER or header[:4] != importlib.util.MAGIC_NUMBER:
            continue
        flags, key = int.from_bytes(header[4:8], "little"), header[8:16]
        if key == (by_hash if flags & 1 else by_time):
            return True
    return False


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(PYC_HEADER)
    except OSError:
        return b""


def _syntax_error(path: Path, compiled: CompiledFiles) -> str | None:
    try:
        stat = path.stat()
        if compiled.knows(path, stat):
            return None
        source = path.read_bytes()
        if _compiled_before(path, source, stat.st_mtime):
            return None
    except OSError:
        return None  # the worker reports what it cannot read, as pytest would
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:  # ValueError: a null byte in the source
        shown = "".join(traceback.format_exception_only(type(e), e)).rstrip()
        return "\n".join(f"E   {line}" for line in shown.splitlines())
    compiled.add(path, stat)
    return None


def _python_files(rootdir: Path, files: Sequence[TestFile]) -> Iterator[tuple[str, Path]]:
    for file in files:
        if file.path.endswith(".py"):
            yield file.path, rootdir / file.path


def early_collection_errors(
    rootdir: Path, files: Sequence[TestFile], import_mode: str, cache: Path | None = None
) -> list[tuple[str, str]]:
    """(file, pytest's error text) for each test file pytest would fail to import, found by
    reading, not importing: a syntax error, or a later file with an earlier one's module name
    (in pytest's collection order, which is the inventory's). ``cache`` remembers the files
    that compiled (fastci.plan.compiled), for where Python writes no bytecode cache."""
    errors: list[tuple[str, str]] = []
    imported: dict[str, Path] = {}
    compiled = CompiledFiles(cache)
    for nodeid, path in _python_files(rootdir, files):
        problem = _syntax_error(path, compiled)
        if problem is None and import_mode in SYS_PATH_MODES:
            first = imported.setdefault(module_name(path), path)
            if first != path:
                problem = _mismatch(first, path)
        if problem is not None:
            errors.append((nodeid, problem))
    compiled.save()
    return errors
