"""Small source mutations for bench/affected.py: one AST node changed in place, by seed.

Each mutant changes one expression of one module and leaves every other byte of the file
as it was (the node's source segment is replaced by ``ast.unparse`` of the changed node),
so a selector that fingerprints functions or lines sees exactly one change.
"""

from __future__ import annotations

import ast
import dataclasses
import random
from collections.abc import Callable, Iterator
from pathlib import Path

_SWAPPED_OPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change: the file (relative to the project), where, what, and the new text."""

    path: str
    line: int
    offset: int  # characters from the start of the file to the segment
    kind: str
    before: str
    after: str

    def describe(self) -> str:
        return f"{self.path}:{self.line} {self.kind}: {self.before!r} -> {self.after!r}"

    def apply(self, root: Path) -> str:
        """Write the mutant into ``root``; returns the original text to restore."""
        target = root / self.path
        original = target.read_text()
        changed = _replace(original, self)
        target.write_text(changed)
        return original


def _flip_constant(node: ast.AST) -> ast.AST | None:
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool):
        return ast.Constant(not value)
    if isinstance(value, int | float):
        return ast.Constant(value + 1)
    return None


def _swap_operator(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BinOp) and type(node.op) in _SWAPPED_OPS:
        return ast.BinOp(node.left, _SWAPPED_OPS[type(node.op)](), node.right)
    if isinstance(node, ast.BoolOp):
        return ast.BoolOp(_SWAPPED_OPS[type(node.op)](), node.values)
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPPED_OPS:
        ops = [_SWAPPED_OPS[type(node.ops[0])](), *node.ops[1:]]
        return ast.Compare(node.left, ops, node.comparators)
    return None


def _drop_not(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    return None


_KINDS: dict[str, Callable[[ast.AST], ast.AST | None]] = {
    "constant": _flip_constant,
    "operator": _swap_operator,
    "not": _drop_not,
}


def _return_values(tree: ast.AST) -> Iterator[tuple[ast.expr, ast.expr]]:
    """``return X`` -> ``return None`` (and ``return None`` -> ``return 0``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None:
            none = isinstance(node.value, ast.Constant) and node.value.value is None
            yield node.value, ast.Constant(0 if none else None)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of docstring nodes: changing one changes no behaviour worth counting."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            found.add(id(body[0].value))
    return found


def mutants_of(root: Path, path: str) -> list[Mutant]:
    """Every mutant of one module, in source order."""
    source = (root / path).read_text()
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: list[Mutant] = []
    pairs: list[tuple[str, ast.expr, ast.AST]] = [
        ("return", old, new) for old, new in _return_values(tree)
    ]
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.expr):
            continue
        for kind, change in _KINDS.items():
            new = change(node)
            if new is not None:
                pairs.append((kind, node, new))
    for kind, old, new in pairs:
        before = ast.get_source_segment(source, old)
        if before is None:
            continue
        offset = _offset(source, old)
        found.append(Mutant(path, old.lineno, offset, kind, before, f"({ast.unparse(new)})"))
    return sorted(found, key=lambda m: (m.line, m.kind, m.before))


def _offset(source: str, node: ast.expr) -> int:
    """The character offset of ``node`` (whose column ast counts in UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)
    line = lines[node.lineno - 1]
    column = len(line.encode()[: node.col_offset].decode())
    return sum(len(text) for text in lines[: node.lineno - 1]) + column


def _replace(source: str, mutant: Mutant) -> str:
    """``source`` with the mutant's segment replaced by its new text."""
    end = mutant.offset + len(mutant.before)
    if source[mutant.offset : end] != mutant.before:
        raise ValueError(f"{mutant.describe()}: the segment is not in the file")
    return source[: mutant.offset] + mutant.after + source[end:]


def sample(root: Path, paths: list[str], count: int, seed: int) -> list[Mutant]:
    """``count`` mutants drawn without replacement from every module's, reproducibly."""
    every = [m for path in sorted(paths) for m in mutants_of(root, path)]
    if len(every) <= count:
        return every
    return random.Random(seed).sample(every, count)
