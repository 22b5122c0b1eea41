"""Typed records from untrusted JSON: each field checked for its type and range at the boundary.

Bundles and timings reports come from other machines and CI artifacts, so nothing in them is
trusted: ``typed`` builds a dataclass only when every field is of the declared ``Kind``, and
otherwise raises a RecordError naming the field and what it must be. Readers turn that into
one line naming the file and the line, never into a crash further down.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from fastci.errors import UsageError

T = TypeVar("T")
# A time of day past this (the year 5138) is damage, not a clock.
LATEST_TIME = 1e11


class RecordError(ValueError):
    """A JSON record that is not what it must be; the message says which field and why."""


class LineError(UsageError):
    """One line of a JSON-lines file that is not a valid record: where, and the reason alone."""

    def __init__(self, message: str, line: int, reason: str) -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a field must hold, said in words (``must``) and checked (``accepts``)."""

    must: str
    accepts: Callable[[object], bool]

    def check(self, field: str, value: object) -> Any:
        if not self.accepts(value):
            raise RecordError(f"field {field} must be {self.must}, got {_shown(value)}")
        return value


def _shown(value: object, most: int = 40) -> str:
    """A short JSON-like rendering of a bad value, for the one-line error."""
    try:
        text = json.dumps(value)
    except ValueError:  # an int too long to print
        text = type(value).__name__
    return text if len(text) <= most else text[: most - 1] + "…"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_in(low: float, high: float, must: str) -> Kind:
    """A JSON number from ``low`` to ``high``: never NaN or infinite, never a bool."""
    return Kind(must, lambda v: _is_number(v) and low <= v <= high)  # type: ignore[operator]


def whole(low: int, high: int) -> Kind:
    return Kind(
        f"a whole number from {low} to {high}",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
    )


def optional(kind: Kind) -> Kind:
    return Kind(f"{kind.must} or null", lambda v: v is None or kind.accepts(v))


def one_of(choices: Collection[str]) -> Kind:
    return Kind(f"one of {', '.join(choices)}", lambda v: isinstance(v, str) and v in choices)


def list_of(kind: Kind, plural: str) -> Kind:
    return Kind(f"a list of {plural}", lambda v: isinstance(v, list) and all(map(kind.accepts, v)))


TEXT = Kind("a string", lambda v: isinstance(v, str))
NAME = Kind("a non-empty string", lambda v: isinstance(v, str) and bool(v))
FLAG = Kind("true or false", lambda v: isinstance(v, bool))
ANYTHING = Kind("anything", lambda v: True)
OBJECT = Kind("a JSON object", lambda v: isinstance(v, dict))
LIST = Kind("a list", lambda v: isinstance(v, list))
TIME = number_in(0, LATEST_TIME, "a time in seconds since 1970")


def parse_json(text: str) -> object:
    """The JSON value in ``text``; anything else (or nesting too deep to read) is a RecordError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise RecordError("not JSON: nested too deeply") from None
    except ValueError as e:
        raise RecordError(f"not JSON ({e})") from None


def json_object(value: object, where: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where.rstrip('.') or 'the record'} is not a JSON object")
    return value


def checked(
    row: object, kinds: Mapping[str, Kind], optional_names: Collection[str] = (), where: str = ""
) -> dict[str, Any]:
    """The fields of ``kinds`` from a JSON object, each checked; unknown keys are dropped (a
    newer writer's), a missing one is an error unless it is one of ``optional_names``."""
    row = json_object(row, where)
    values = {}
    for name, kind in kinds.items():
        if name in row:
            values[name] = kind.check(where + name, row[name])
        elif name not in optional_names:
            raise RecordError(f"field {where}{name} is missing")
    return values


def typed(cls: type[T], row: object, kinds: Mapping[str, Kind], where: str = "") -> T:
    """An instance of the dataclass ``cls`` from a JSON object whose fields are all of ``kinds``
    (one per dataclass field); fields with a default may be absent."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    defaulted = {
        f.name
        for f in fields
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    values = checked(row, {f.name: kinds[f.name] for f in fields}, defaulted, where)
    return cls(**values)
