"""The quarantine: tests (node ids or patterns) that still run and report but fail no run.

``[tool.fastci] quarantine`` lists them. A pattern matches a node id exactly, as a prefix
ending at ``::`` (a file or a class), or as a shell-style wildcard (``tests/net/*``).
``fastci flaky --quarantine`` adds flaky tests to the list by editing ``pyproject.toml``
as text, so its comments and layout stay; a file whose shape it cannot edit safely is left
alone and the lines to paste are shown instead.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Collection, Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastci.model import TestResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

KEY = "quarantine"
TABLE_HEADER = re.compile(r"^\[\s*tool\s*\.\s*fastci\s*\]\s*(#.*)?$")
ANY_HEADER = re.compile(r"^\[")
KEY_LINE = re.compile(rf"^{KEY}\s*=")


def quarantined(test_id: str, patterns: Iterable[str]) -> bool:
    """Whether ``test_id`` is in the quarantine ``patterns``."""
    return any(
        test_id == p or test_id.startswith(f"{p}::") or fnmatchcase(test_id, p) for p in patterns
    )


@dataclasses.dataclass(frozen=True)
class Judge:
    """What fails a shard besides failed tests: flaky ones unless allowed; and what never
    does: tests in the quarantine (``[tool.fastci]`` of the checkout that judges)."""

    quarantine: Sequence[str] = ()
    allow_flaky: bool = False

    def fails(self, result: TestResult) -> bool:
        bad = result.failed or (result.outcome == "flaky" and not self.allow_flaky)
        return bad and not quarantined(result.id, self.quarantine)


def matching(test_ids: Iterable[str], patterns: Sequence[str]) -> list[str]:
    return sorted({t for t in test_ids if quarantined(t, patterns)}) if patterns else []


class CannotEdit(Exception):
    """pyproject.toml has a shape fastci will not edit by hand; the message says how."""


def render(entries: Sequence[str]) -> list[str]:
    """The ``quarantine = [...]`` lines for ``entries``, one TOML string a line."""
    return [f"{KEY} = [", *(f"    {json.dumps(e, ensure_ascii=False)}," for e in entries), "]"]


def add_to_pyproject(path: Path, new: Collection[str]) -> list[str]:
    """Add ``new`` entries to ``[tool.fastci] quarantine`` in ``path``; the full list.

    Raises CannotEdit when the file's shape is unusual (the table written inline or with
    dotted keys, an array fastci cannot find the end of); nothing is written then.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    before = tomllib.loads(text)
    current = list(_table(before).get(KEY, []))
    entries = current + sorted(set(new) - set(current))
    lines = text.splitlines()
    edited = "\n".join(_edit(lines, before, render(entries))) + "\n"
    after = tomllib.loads(edited)
    if _table(after).get(KEY) != entries or _without_key(after) != _without_key(before):
        raise CannotEdit("the edit would change more than the quarantine list")
    path.write_text(edited, encoding="utf-8")
    return entries


def _edit(lines: list[str], document: dict[str, Any], block: list[str]) -> list[str]:
    header = next((n for n, line in enumerate(lines) if TABLE_HEADER.match(line.strip())), None)
    if header is None:
        if "fastci" in document.get("tool", {}):
            raise CannotEdit("[tool.fastci] is written inline or with dotted keys")
        return [*lines, *([""] if lines else []), "[tool.fastci]", *block]
    end = next(
        (n for n in range(header + 1, len(lines)) if ANY_HEADER.match(lines[n].strip())),
        len(lines),
    )
    start = next((n for n in range(header + 1, end) if KEY_LINE.match(lines[n])), None)
    if start is None:
        return [*lines[: header + 1], *block, *lines[header + 1 :]]
    stop = _value_end(lines, start, end, _table(document)[KEY])
    return [*lines[:start], *block, *lines[stop + 1 :]]


def _value_end(lines: list[str], start: int, end: int, value: object) -> int:
    """The last line of the ``quarantine = ...`` value that starts at ``start``."""
    for stop in range(start, end):
        try:
            parsed = tomllib.loads("\n".join(lines[start : stop + 1]))
        except tomllib.TOMLDecodeError:
            continue
        if parsed.get(KEY) == value:
            return stop
    raise CannotEdit(f"cannot tell where the {KEY} value ends")


def _table(document: dict[str, Any]) -> dict[str, Any]:
    tool = document.get("tool", {})
    table = tool.get("fastci", {}) if isinstance(tool, dict) else {}
    return table if isinstance(table, dict) else {}


def _without_key(document: dict[str, Any]) -> dict[str, Any]:
    table = {k: v for k, v in _table(document).items() if k != KEY}
    tool = {**document.get("tool", {}), "fastci": table}
    return {**document, "tool": tool}
