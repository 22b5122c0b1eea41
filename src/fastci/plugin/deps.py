"""Inside a worker: record which project files each test's code ran and read (fastci affected).

One global trace function (``sys.settrace``, and ``threading.settrace`` for new threads)
adds each new frame's file to the innermost open record and returns None, so no line
events are ever traced. A module body (``<module>`` frame) opens a record of its own: what
ran while it was imported is that module's import closure, charged to any test whose record
holds the module. Imports that find a module already loaded run no code, so
``builtins.__import__`` and ``importlib.import_module`` are wrapped to note the module's
file too. Files opened for reading come from an audit hook. Fixtures keep what their setup
ran, and every test that uses a fixture is charged with it, whichever test set it up.

Each finished test is one JSON line ``{"test", "ids", "markers"}`` (its files by number,
named by an earlier ``{"paths": {number: path}}`` line) and each collected test file one
line ``{"module", "items"}`` in ``$FASTCI_DEPS_DIR/worker-PID.jsonl``;
paths are relative to the project root, and files outside it are left to the environment.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pytest

from fastci.plugin.launch import DEPS_ROOT_VARIABLE, DEPS_VARIABLE, SPAWNED

SPAWN_EVENTS = frozenset(("subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.system"))
_READ_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class Recorder:
    """The records of one worker process; ``stack[0]`` is the running test's."""

    def __init__(self, root: Path, out: Path) -> None:
        self.root = str(root) + os.sep
        self.out = out
        self.stack: list[set[str]] = [set()]
        self.closures: dict[str, set[str]] = {}  # module file -> what its import ran
        self.fixtures: dict[int, set[str]] = {}  # id(FixtureDef) -> what its setup ran
        self.relative: dict[str, str | None] = {}
        self.ids: dict[str, int] = {}  # project path -> its number in this worker's file
        self.active = True

    # -- the hot path: called for every new frame ------------------------------------

    def trace(self, frame: FrameType, event: str, arg: object) -> Any:
        code = frame.f_code
        self.stack[-1].add(code.co_filename)
        if code.co_name != "<module>" or threading.current_thread() is not _MAIN:
            return None
        self.stack.append(set())
        frame.f_trace_lines = False
        filename = code.co_filename

        def module_end(frame: FrameType, event: str, arg: object) -> Any:
            if event == "return" and len(self.stack) > 1:
                ran = self.expand(self.stack.pop())  # transitive: see expand()
                self.closures.setdefault(filename, set()).update(ran)
                self.stack[-1].update(ran)
            return module_end

        return module_end

    def thread_trace(self, frame: FrameType, event: str, arg: object) -> None:
        self.stack[0].add(frame.f_code.co_filename)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event in SPAWN_EVENTS and self.active:
            self.stack[-1].add(SPAWNED)  # what the process runs and reads is not seen here
        elif event == "sqlite3.connect" and self.active and isinstance(args[0], str | Path):
            self.stack[-1].add(os.path.abspath(args[0]))  # a database file the test reads
        elif event == "open" and self.active and isinstance(args[0], str | Path):
            mode, flags = args[1], args[2]
            reading = ("r" in mode and "+" not in mode) if isinstance(mode, str) else None
            if reading or (reading is None and not flags & _READ_FLAGS):
                self.stack[-1].add(os.path.abspath(args[0]))

    def note_module(self, module: ModuleType | None) -> None:
        filename = getattr(module, "__file__", None)
        if isinstance(filename, str):
            self.stack[-1].add(filename)

    # -- records -----------------------------------------------------------------------

    def push(self) -> None:
        self.stack.append(set())

    def pop_into_fixture(self, key: int) -> None:
        ran = self.stack.pop() if len(self.stack) > 1 else set()
        self.fixtures.setdefault(key, set()).update(ran)
        self.stack[-1].update(ran)

    def expand(self, files: set[str]) -> set[str]:
        """``files`` with the import closure of every module among them.

        Each closure is already closed (it was expanded when its module's body ended), so a
        file found inside one needs no look of its own: one union per closure, not per file.
        """
        expanded: set[str] = set()
        for name in files:
            if name not in expanded:
                expanded.add(name)
                expanded |= self.closures.get(name, set())
        return expanded

    def project_files(self, files: set[str]) -> set[str]:
        """``files`` with every module's import closure, as paths under the project root."""
        found = (self.relative_path(name) for name in self.expand(files))
        return {relative for relative in found if relative is not None}

    def relative_path(self, name: str) -> str | None:
        """``name`` relative to the project root; None outside it (the environment's)."""
        if name not in self.relative:
            self.relative[name] = self._relative(name)
        return self.relative[name]

    def _relative(self, name: str) -> str | None:
        if name == SPAWNED:
            return name
        if not name.startswith(self.root) or name.endswith(".pyc"):
            return None  # bytecode stands for its source, which is recorded
        relative = name[len(self.root) :].replace(os.sep, "/")
        return None if "site-packages/" in relative else relative  # a virtualenv in the project

    def write_test(self, test: str, files: set[str], markers: list[str]) -> None:
        """One test's line, its files as numbers; a ``paths`` line first names new ones."""
        new = {path: len(self.ids) + i for i, path in enumerate(sorted(files - self.ids.keys()))}
        if new:
            self.ids.update(new)
            self.write({"paths": {number: path for path, number in new.items()}})
        self.write({"test": test, "ids": sorted(self.ids[f] for f in files), "markers": markers})

    def write(self, record: dict[str, Any]) -> None:
        with self.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


_MAIN = threading.main_thread()
_recorder: list[Recorder] = []


def start(rootpath: Path) -> Recorder | None:
    """Start recording when fastci asked for it; the recorder, or None."""
    directory = os.environ.get(DEPS_VARIABLE)
    if not directory or _recorder:
        return None
    root = Path(os.environ.get(DEPS_ROOT_VARIABLE) or rootpath).resolve()
    recorder = Recorder(root, Path(directory) / f"worker-{os.getpid()}.jsonl")
    _recorder.append(recorder)
    _wrap_imports(recorder)
    sys.addaudithook(recorder.audit)
    sys.settrace(recorder.trace)
    threading.settrace(recorder.thread_trace)
    return recorder


def _armed(recorder: Recorder) -> bool:
    return sys.gettrace() == recorder.trace


def _arm(recorder: Recorder) -> None:
    """Set the trace function again if something unset it: CPython drops a trace function
    that raises (a RecursionError raised inside it, at the recursion limit)."""
    if not _armed(recorder):
        sys.settrace(recorder.trace)


def stop() -> None:
    while _recorder:
        _recorder.pop().active = False
        sys.settrace(None)
        threading.settrace(None)


def _wrap_imports(recorder: Recorder) -> None:
    original_import = builtins.__import__
    original_import_module = importlib.import_module

    def recording_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        module = original_import(name, globals, locals, fromlist, level)
        if recorder.active:
            package = (globals or {}).get("__package__") if level else None
            _note_imported(recorder, name, package, level, fromlist)
        return module

    def recording_import_module(name: str, package: str | None = None) -> ModuleType:
        module = original_import_module(name, package)
        if recorder.active:  # the module and its parent packages, whose __init__ ran for it
            _note_imported(recorder, module.__name__, None, 0, None)
        return module

    builtins.__import__ = recording_import
    importlib.import_module = recording_import_module


def _note_imported(
    recorder: Recorder, name: str, package: str | None, level: int, fromlist: Any
) -> None:
    """Note the imported module, its parent packages and any submodules in ``fromlist``."""
    if level and package:
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        name = f"{base}.{name}" if name else base
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        recorder.note_module(sys.modules.get(".".join(parts[:i])))
    for sub in fromlist or ():
        if isinstance(sub, str):
            recorder.note_module(sys.modules.get(f"{name}.{sub}"))


class DepsPlugin:
    """The pytest side: opens a record per test and per fixture setup, writes each test's."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.modules: dict[str, list[str]] = {}  # test file -> the tests collected from it
        self.pending: set[str] = set()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        recorder = self.recorder
        self.flush_modules()
        recorder.stack[:] = [{str(item.path)}]
        _arm(recorder)
        try:
            return (yield)
        finally:
            ran = recorder.stack[0] | self.fixture_files(item)
            if not _armed(recorder):  # lost mid-test: what ran is unknown, so any change counts
                ran.add(SPAWNED)
                _arm(recorder)
            markers = sorted({m.name for m in item.iter_markers()})
            recorder.write_test(item.nodeid, recorder.project_files(ran), markers)
            recorder.stack[:] = [set()]

    def fixture_files(self, item: pytest.Item) -> set[str]:
        """What the fixtures this test uses ran when set up, and where they are defined."""
        files: set[str] = set()
        info = getattr(item, "_fixtureinfo", None)
        for defs in info.name2fixturedefs.values() if info is not None else ():
            for fixturedef in defs:
                files.update(self.recorder.fixtures.get(id(fixturedef), ()))
                code = getattr(fixturedef.func, "__code__", None)
                if code is not None:
                    files.add(code.co_filename)
        return files

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Generator[None, object, object]:
        self.recorder.push()
        try:
            return (yield)
        finally:
            self.recorder.pop_into_fixture(id(fixturedef))

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        module = self.recorder.relative_path(str(item.path))
        if module is not None:
            self.modules.setdefault(module, []).append(item.nodeid)
            self.pending.add(module)

    def flush_modules(self) -> None:
        """Write each test file's collected tests (again, whole, when more were collected)."""
        for module in sorted(self.pending):
            self.recorder.write({"module": module, "items": self.modules[module]})
        self.pending.clear()


def recording() -> Recorder | None:
    return _recorder[0] if _recorder else None
