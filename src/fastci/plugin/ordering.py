"""Random test order that replays: ``fastci run --random-order[=SEED]``.

The order is a sort by ``sha256(seed, scope, name)``: no ``hash()`` (salted per process)
and no ``random`` (whose algorithms may change between Python versions), so one seed gives
one order in every process, on every machine. Units are shuffled by their ids in the
coordinator; each worker shuffles a unit's tests by their node ids, the unit's id as scope.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

SEED_VARIABLE = "FASTCI_RANDOM_SEED"  # set in the workers of a --random-order run
MAX_SEED = 2**32 - 1
UNITS = "units"


def parse_seed(value: object) -> int:
    """A seed from --random-order=SEED: a whole number from 0 to 2**32-1."""
    digits = str(value).strip()
    if not digits.isdigit() or int(digits) > MAX_SEED:
        raise ValueError(f"a whole number from 0 to {MAX_SEED}")
    return int(digits)


def seed_or_new(value: object) -> int:
    """``--random-order`` alone ("new"): a new seed; ``--random-order=SEED``: that one."""
    return secrets.randbelow(MAX_SEED + 1) if value == "new" else parse_seed(value)


def shuffled(things: Iterable[T], seed: int, scope: str, name: Callable[[T], str]) -> list[T]:
    """``things`` in the order ``seed`` gives them within ``scope``, the same everywhere."""

    def key(thing: T) -> str:
        return hashlib.sha256(f"{seed}\0{scope}\0{name(thing)}".encode()).hexdigest()

    return sorted(things, key=key)
