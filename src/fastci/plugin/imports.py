"""Timing the top-level packages a test file newly imports: shared imports, paid once per process.

While a test file is collected, an ``ImportClock`` sits first on ``sys.meta_path``. For every
top-level package loaded for the first time in this process (``numpy``, ``django``, the
project's own package), it times the package's ``exec_module`` and keeps the package's own
seconds: its time minus the time of other top-level packages it imported meanwhile (scipy's
own cost, without numpy's). The file's collect time minus these is the file's own import.
Finders and loaders are the interpreter's own; the clock only wraps the module's execution
while it runs, and takes the wrapper off again.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
import time
import types
from collections.abc import Callable, Sequence


class ImportClock(importlib.abc.MetaPathFinder):
    """Own seconds of each top-level package first imported while it is installed."""

    def __init__(self, skip: Callable[[str | None], bool] = lambda origin: False) -> None:
        self.skip = skip  # an origin not to time (the test file itself)
        self.seconds: dict[str, float] = {}
        self._stack: list[float] = []  # seconds of nested top-level packages, per open level

    def __enter__(self) -> ImportClock:
        sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if "." in fullname or fullname == "conftest":
            return None  # a submodule is part of its package's time; a conftest is no package
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not self.skip(spec.origin):
                    self._wrap(fullname, spec.loader)
                return spec
        return None

    def _wrap(self, name: str, loader: object) -> None:
        run = getattr(loader, "exec_module", None)
        if run is None or "exec_module" in vars(loader):
            return  # an old-style loader, or one already wrapped
        clock = self

        def timed(module: types.ModuleType) -> None:
            clock._stack.append(0.0)
            started = time.perf_counter()
            try:
                run(module)
            finally:
                took = time.perf_counter() - started
                nested = clock._stack.pop()
                clock.seconds[name] = clock.seconds.get(name, 0.0) + max(0.0, took - nested)
                if clock._stack:
                    clock._stack[-1] += took
                with contextlib.suppress(AttributeError):
                    delattr(loader, "exec_module")

        try:
            setattr(loader, "exec_module", timed)  # noqa: B010 -- an instance attribute, taken off after
        except (AttributeError, TypeError):
            return  # a loader that takes no attributes: its package counts as the file's import
