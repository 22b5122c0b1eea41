"""Inside a worker: record which project files each test's code ran and read (fastci affected).

Code that ran comes from coverage.py's C tracer (``deps_trace``), measuring only the project
root and read at every boundary of a record (``deps_records``): a test's setup, call and
teardown; a fixture's setup, charged to every test that uses the fixture, whichever test set
it up; a module's body, its import closure, charged to every test whose record holds the
module. A module body's start is importlib's ``exec`` audit event (a ``<module>`` code
object), its end the return of importlib's loader (else pytest registering it as a
conftest, or the end of the enclosing collector, fixture or test: charging more is safe).
Imports that find a module already loaded run no code, so ``builtins.__import__`` and
``importlib.import_module`` are wrapped to note the module's file too. Files opened for
reading, SQLite databases and started processes come from an audit hook. Each test's line
is written when it ends. The cost is mostly the tracer's: 1.75x ``fastci run -j 1`` on three
SymPy test files, where the tracer alone costs 1.6x (docs/benchmarks.md).

What a record holds are dependency keys (fastci.affected.units): ``path::unit`` for a
function whose body ran, ``path::`` for a module whose module-level code ran or that was
imported, and a bare path for a file whose every byte counts: one opened for reading (not
by importlib), whose source was read through ``linecache`` (``inspect.getsource``, a
traceback), or that cannot be split into functions.

Each finished test is one JSON line ``{"test", "ids", "markers"}`` (its files by number,
named by an earlier ``{"paths": {number: path}}`` line) and each collected test file one
line ``{"module", "items"}`` in ``$FASTCI_DEPS_DIR/worker-PID.jsonl``;
paths are relative to the project root, and files outside it are left to the environment.
"""

from __future__ import annotations

import builtins
import importlib
import json
import linecache
import multiprocessing.process
import os
import sys
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any, TypeVar

import pytest

from fastci.affected.units import SKELETON, split_key, unit_key
from fastci.plugin.deps_imports import ImportedFiles
from fastci.plugin.deps_records import Record, Records
from fastci.plugin.deps_trace import FileTracer
from fastci.plugin.launch import DEPS_ROOT_VARIABLE, DEPS_VARIABLE, SPAWNED

# os.fork: a multiprocessing worker forked from the test runs code this worker never traces.
SPAWN_EVENTS = frozenset(
    (
        "subprocess.Popen",
        "os.posix_spawn",
        "os.exec",
        "os.spawn",
        "os.system",
        "os.fork",
        "os.forkpty",
    )
)
# The functions that read a module's code for an import -> how their files' names end.
_IMPORT_READERS = {
    "get_data": ("_bootstrap_external>", "_bootstrap_external.py"),  # importlib
    "_rewrite_test": (os.path.join("assertion", "rewrite.py"),),  # pytest's assert rewriting
    "_read_pyc": (os.path.join("assertion", "rewrite.py"),),
}
_READ_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# warnings.warn counts a stacklevel past importlib's own frames (a file name holding both
# "importlib" and "_bootstrap"). The import wrappers are import machinery too, so their code
# is named alike: else a module's import-time warning points into fastci, not the importer.
_MACHINERY = "<fastci's wrapper of importlib._bootstrap>"
_Function = TypeVar("_Function", bound=Callable[..., Any])


class Recorder:
    """The records of one worker process, and its file of test lines."""

    def __init__(self, root: Path, out: Path) -> None:
        self.root = str(root) + os.sep
        self.out = out
        self.tracer = FileTracer(root)
        self.records = Records(self.tracer)
        self.imports = ImportedFiles()
        self.relative: dict[str, str | None] = {}
        self.ids: dict[str, int] = {}  # project path -> its number in this worker's file
        self.active = True

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or self.tracer.busy:
            return
        if event == "exec":
            self.module_body(args[0])
        elif event in SPAWN_EVENTS:
            self.note(SPAWNED)  # what the process runs and reads is not seen here
        elif event == "sqlite3.connect" and isinstance(args[0], str | Path):
            self.note(os.path.abspath(args[0]))  # a database file the test reads
        elif event == "open" and isinstance(args[0], str | Path) and not _importing():
            mode, flags = args[1], args[2]
            reading = ("r" in mode and "+" not in mode) if isinstance(mode, str) else None
            if reading or (reading is None and not flags & _READ_FLAGS):
                self.note(os.path.abspath(args[0]))

    def module_body(self, code: object) -> None:
        """A module's body starts: what it runs is that module's import closure."""
        if (
            isinstance(code, CodeType)
            and code.co_name == "<module>"
            and not code.co_filename.startswith("<")  # exec() of a string, not a module
            and threading.current_thread() is _MAIN
        ):
            key = unit_key(code.co_filename, SKELETON)
            self.imports.forget()
            self.records.open(Record({key}, module=key))

    def note(self, filename: str) -> None:
        """The whole of ``filename`` counts for the innermost record."""
        self.records.stack[-1].files.add(filename)

    def note_import(
        self, module: object, name: str, package: str | None, level: int, fromlist: Any
    ) -> None:
        """Note the files an import names: it may find them loaded and run no code."""
        self.records.stack[-1].files.update(self.imports.of(module, name, package, level, fromlist))

    def closing(self) -> Callable[[], None]:
        """A call that finishes whatever opens after now (on the main thread only)."""
        if threading.current_thread() is not _MAIN:
            return _nothing
        depth = len(self.records.stack)
        return lambda: self.records.close(depth)

    # -- tests ---------------------------------------------------------------------------

    def begin_test(self, path: str) -> None:
        self.records.between_tests()
        self.tracer.arm()
        self.records.open(Record({unit_key(path, SKELETON)}))

    def end_test(self, test: str, fixtures: set[str], markers: list[str]) -> None:
        """Finish the running test's record and write it; lost mid-test, the tracer saw only
        part of what ran, so any change counts."""
        records = self.records
        records.close(2)
        records.traced()
        ran = (records.stack.pop().files if len(records.stack) > 1 else set()) | fixtures
        if not self.tracer.armed():
            ran.add(SPAWNED)
            self.tracer.arm()
        self.write_test(test, self.project_files(ran), markers)

    # -- records -----------------------------------------------------------------------

    def project_files(self, files: set[str]) -> set[str]:
        """``files`` with every module's import closure, as paths under the project root."""
        found = (self.relative_path(name) for name in self.records.expand(files))
        return {relative for relative in found if relative is not None}

    def relative_path(self, name: str) -> str | None:
        """The key ``name`` relative to the project root; None outside it (the
        environment's)."""
        if name not in self.relative:
            self.relative[name] = self._relative(name)
        return self.relative[name]

    def _relative(self, name: str) -> str | None:
        if name == SPAWNED:
            return name
        path, unit = split_key(name)
        if not path.startswith(self.root) or path.endswith(".pyc"):
            return None  # bytecode stands for its source, which is recorded
        relative = path[len(self.root) :].replace(os.sep, "/")
        if "site-packages/" in relative:  # a virtualenv in the project
            return None
        return relative if unit is None else unit_key(relative, unit)

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


def _nothing() -> None:
    pass


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
    _wrap_loading(recorder)
    _wrap_linecache(recorder)
    _wrap_processes(recorder)
    sys.addaudithook(recorder.audit)
    recorder.tracer.start(lambda: recorder.note(SPAWNED))
    return recorder


def stop() -> None:
    while _recorder:
        recorder = _recorder.pop()
        recorder.active = False
        recorder.tracer.stop()


def _machinery(function: _Function) -> _Function:
    if isinstance(function, FunctionType):
        function.__code__ = function.__code__.replace(co_filename=_MACHINERY)
    return function


def _wrap_imports(recorder: Recorder) -> None:
    original_import = builtins.__import__
    original_import_module = importlib.import_module

    def recording_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        module = original_import(name, globals, locals, fromlist, level)
        if recorder.active:
            package = (globals or {}).get("__package__") if level else None
            recorder.note_import(module, name, package, level, fromlist)
        return module

    def recording_import_module(name: str, package: str | None = None) -> ModuleType:
        module = original_import_module(name, package)
        if recorder.active:  # the module and its parent packages, whose __init__ ran for it
            recorder.note_import(module, module.__name__, None, 0, None)
        return module

    builtins.__import__ = _machinery(recording_import)
    importlib.import_module = _machinery(recording_import_module)


def _importing() -> bool:
    """Whether the file being opened is an import reading a module's source or bytecode:
    importlib's, or pytest's assertion rewriting of a test module (the code that runs from
    it is traced, and a fresh checkout has no bytecode yet)."""
    try:
        frame: FrameType | None = sys._getframe(2)  # 0: this, 1: Recorder.audit, 2: opener
    except ValueError:  # opened from C with no Python caller
        return False
    for _ in range(4):  # pathlib and io stand between a reader and the open
        if frame is None:
            return False
        code = frame.f_code
        if code.co_filename.endswith(_IMPORT_READERS.get(code.co_name, ())):
            return True
        frame = frame.f_back
    return False


def _wrap_linecache(recorder: Recorder) -> None:
    """Source read through ``linecache`` (``inspect.getsource``, tracebacks) counts whole:
    its cache may already hold the file, so no ``open`` shows it."""
    original = linecache.getlines

    def recording_getlines(filename: str, module_globals: Any = None) -> list[str]:
        named = not str(filename).startswith("<")  # "<string>", "<doctest …>": no file
        if named and recorder.active and not recorder.tracer.busy:
            recorder.note(os.path.abspath(filename))
        return original(filename, module_globals)

    linecache.getlines = recording_getlines


def _wrap_processes(recorder: Recorder) -> None:
    """A multiprocessing process started by a test is a process it starts: the spawn and
    forkserver methods start theirs with no audit event (a forkserver forks for a later
    test on a message alone), so every start counts."""
    original = multiprocessing.process.BaseProcess.start

    def recording_start(process: multiprocessing.process.BaseProcess) -> None:
        if recorder.active:
            recorder.note(SPAWNED)
        original(process)

    setattr(multiprocessing.process.BaseProcess, "start", recording_start)  # noqa: B010 (mypy forbids assigning a method)


def _wrap_loading(recorder: Recorder) -> None:
    """End a module body's record when importlib's loader returns: a package's
    ``__init__`` then ends before its submodule starts, so its closure holds only what it
    imported itself. Without that private hook a body ends at the enclosing collector,
    fixture or test, which charges more, never less."""
    bootstrap = importlib._bootstrap
    original = getattr(bootstrap, "_load_unlocked", None)
    if original is None:
        return

    def recording_load(spec: Any) -> Any:
        close = recorder.closing() if recorder.active else _nothing
        try:
            return original(spec)
        finally:
            close()

    setattr(bootstrap, "_load_unlocked", _machinery(recording_load))  # noqa: B010 (not in its stubs)


class DepsPlugin:
    """The pytest side: opens a record per test and per fixture setup, writes each test's."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.modules: dict[str, list[str]] = {}  # test file -> the tests collected from it
        self.pending: set[str] = set()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.flush_modules()
        self.recorder.begin_test(str(item.path))
        try:
            return (yield)
        finally:
            markers = sorted({m.name for m in item.iter_markers()})
            self.recorder.end_test(item.nodeid, self.fixture_files(item), markers)

    def fixture_files(self, item: pytest.Item) -> set[str]:
        """What the fixtures this test uses ran when set up, whichever test set them up, and
        where they are defined."""
        files: set[str] = set()
        info = getattr(item, "_fixtureinfo", None)
        for defs in info.name2fixturedefs.values() if info is not None else ():
            for fixturedef in defs:
                files.update(self.recorder.records.fixtures.get(id(fixturedef), ()))
                code = getattr(fixturedef.func, "__code__", None)
                if code is not None:
                    files.add(unit_key(code.co_filename, SKELETON))
        return files

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Generator[None, object, object]:
        records = self.recorder.records
        depth = records.open(Record(fixture=id(fixturedef)))
        try:
            return (yield)
        finally:
            records.close(depth)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, object, object]:
        """Collecting a test file (its import, parametrize arguments, ``pytest_generate_tests``)
        is part of what its module-level code stands for: every test of the file depends on
        it, so a change there runs the whole file. A test module imported outside importlib's
        loader (pytest's importlib mode) ends its body's record here too."""
        close = self.recorder.closing()
        main = threading.current_thread() is _MAIN
        if main and isinstance(collector, pytest.File | pytest.Class):
            key = unit_key(str(collector.path), SKELETON)
            self.recorder.records.open(Record({key}, module=key))
        try:
            return (yield)
        finally:
            close()

    def pytest_plugin_registered(self, plugin: object) -> None:
        """A conftest imported outside importlib's loader (pytest's importlib mode) is done
        when pytest registers it (this hook also sees those registered before this plugin)."""
        filename = getattr(plugin, "__file__", None)
        if isinstance(filename, str) and threading.current_thread() is _MAIN:
            self.recorder.records.close_module(filename)

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
