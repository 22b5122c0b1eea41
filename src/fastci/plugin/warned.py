"""A warning pytest recorded, as the record its terminal reporter would keep of it."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastci.model import WarningRecord


def warning_text(message: warnings.WarningMessage) -> str:
    """pytest's text of a warning: "path:line: Category: message" and the source line."""
    try:  # pytest's own wording, with its tracemalloc hint for unclosed resources
        from _pytest.warnings import warning_record_to_str
    except ImportError:  # a pytest that moved it: the standard wording, which it extends
        return warnings.formatwarning(
            str(message.message), message.category, message.filename, message.lineno, message.line
        )
    return warning_record_to_str(message)


def warning_record(
    message: warnings.WarningMessage, when: str, nodeid: str, invoked_in: Path
) -> WarningRecord:
    """What pytest's terminal reporter keeps of a warning; its location is the test, else
    "path:line" relative to where pytest was started."""
    location = nodeid
    if not location:
        relative = os.path.relpath(os.path.abspath(message.filename), invoked_in)
        location = f"{relative}:{message.lineno}"
    return WarningRecord(
        location=location,
        message=warning_text(message),
        category=message.category.__name__,
        filename=str(message.filename),
        lineno=int(message.lineno),
        nodeid=nodeid,
        when=when,
    )


@contextlib.contextmanager
def collection_warnings(config: pytest.Config) -> Iterator[None]:
    """Warnings raised while a worker collects a unit, filtered by the user's
    ``filterwarnings`` and recorded as pytest records them during its collection (a worker
    collects after pytest's own collection hook, which does this, has returned)."""
    if not config.pluginmanager.has_plugin("warnings"):  # -p no:warnings: pytest records none
        yield
        return
    try:
        from _pytest.warnings import catch_warnings_for_item
    except ImportError:  # a pytest that moved it: warnings then go to the worker's log
        yield
        return
    with catch_warnings_for_item(config, ihook=config.hook, when="collect", item=None):
        yield
