"""A Python file's functions as units of change: which lines belong to which function's
body, and a digest of each body and of everything else (the file's skeleton).

A test that ran a function's body depends on that body; one that imported the file, or ran
its module-level code, depends on the skeleton: every statement outside the bodies, with
each function's signature, decorators, defaults and docstring (a doctest reads the
docstring without running the body, so a docstring is never a body's). A change that
leaves the skeleton as it was can only affect the tests that ran a changed body.

Units are the functions and methods defined at module or class level (also under ``if``,
``try``, ``with``…); a function nested in another is part of that one's body. Two
definitions of one name (a property and its setter, a function defined per Python
version) are one unit. A body holding nothing that runs but its docstring is left in the
skeleton: calling it traces only its ``def`` line, which the import ran too. So is a
function with a decorator other than the few known to call it as it is (``property``,
``staticmethod``, ``pytest.fixture``, marks…): a decorator may run it for another test.

A result one test computes and a later test reads back from a cache never shows in the
later test's trace. So a function with a cache decorator (``lru_cache``, ``cache``…) and
every function of its file it may call (by the names it mentions) stay in the skeleton, and
a file that keeps state between calls otherwise has no units at all, so any change to it
runs every test that touched it: a cache made by a call (``f = lru_cache(f)``), a
``global`` statement, or a function storing into a
module-level object (``_cache[key] = value``, ``_seen.add(x)``). A ``nonlocal`` lives in its
enclosing call, and a function that keeps one across calls is a decorator's, whose
decorated functions are left in the skeleton anyway.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterator
from pathlib import Path

from fastci.affected.state import Function, decorator_name, keeps_state

SEPARATOR = "::"
# Decorators that return the function itself, or call it as it is each time it is called.
PLAIN_DECORATORS = frozenset(
    ("property", "setter", "getter", "deleter", "staticmethod", "classmethod",
     "abstractmethod", "abc.abstractmethod", "overload", "typing.overload", "override",
     "typing.override", "typing_extensions.override", "final", "typing.final",
     "contextmanager", "contextlib.contextmanager", "asynccontextmanager",
     "contextlib.asynccontextmanager", "pytest.fixture", "fixture", "pytest.mark")
)  # fmt: skip
SKELETON = ""  # the unit name of module-level code: "path::" is "path's skeleton"

_BLOCKS = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Try,
    getattr(ast, "TryStar", ast.Try),  # except* (Python 3.11)
    ast.With,
    ast.AsyncWith,
)


def unit_key(path: str, unit: str) -> str:
    """The dependency key of ``unit`` of ``path`` (SKELETON for its module-level code)."""
    return f"{path}{SEPARATOR}{unit}"


def split_key(key: str) -> tuple[str, str | None]:
    """(path, unit) of a dependency key; unit None when the key is a whole file."""
    path, separator, unit = key.rpartition(SEPARATOR)
    return (path, unit) if separator else (key, None)


def parse(source: bytes | str) -> ast.Module | None:
    """The file's syntax tree, to split into units; None when it is not Python this
    interpreter reads, or keeps state between calls (then it is one whole)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return None
    functions = [function for _, function in _units(tree.body, "", every=True)]
    return None if keeps_state(tree, functions) else tree


def line_units(tree: ast.Module) -> dict[int, str]:
    """Each line of a function body -> the unit's name (lines of the skeleton are absent)."""
    lines: dict[int, str] = {}
    for name, function in _split(tree):
        code = _code(function)
        if code:
            lines.update(dict.fromkeys(range(code[0].lineno, _end(function) + 1), name))
    return lines


def fingerprint(tree: ast.Module) -> dict[str, str]:
    """SKELETON -> the skeleton's digest, and each unit -> its body's digest.

    Digests ignore layout, comments and line numbers: moving a function leaves it unchanged.
    The tree is consumed (its bodies are cut out of it).
    """
    bodies: dict[str, list[str]] = {}
    for name, function in _split(tree):
        code = _code(function)
        if code:
            bodies.setdefault(name, []).append(ast.dump(ast.Module(body=code, type_ignores=[])))
            function.body[len(function.body) - len(code) :] = [ast.Pass()]
    digests = {name: _digest("\0".join(dumps)) for name, dumps in bodies.items()}
    digests[SKELETON] = _digest(ast.dump(tree))
    return digests


def read_tree(path: Path) -> ast.Module | None:
    """The syntax tree of the file at ``path`` (see parse); None when it is absent too."""
    try:
        return parse(path.read_bytes())
    except OSError:
        return None


def file_units(path: Path) -> dict[str, str]:
    """The fingerprint of the file at ``path``; empty when it is absent or has no units."""
    tree = read_tree(path)
    return {} if tree is None else fingerprint(tree)


def changed_units(old: dict[str, str], new: dict[str, str]) -> set[str] | None:
    """The units whose bodies differ; None when the skeletons do (any test may see it)."""
    if SKELETON not in old or old.get(SKELETON) != new.get(SKELETON):
        return None
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _split(tree: ast.Module) -> list[tuple[str, Function]]:
    """The file's units: its plain functions, but those a cached function may call."""
    every = list(_units(tree.body, "", every=True))
    cached = [f for _, f in every if any(_caches(decorator_name(d)) for d in f.decorator_list)]
    pinned = _reachable(cached, every)
    return [(n, f) for n, f in _units(tree.body, "") if n.rsplit(".", 1)[-1] not in pinned]


def _reachable(start: list[Function], every: list[tuple[str, Function]]) -> set[str]:
    """The names of the file's functions that ``start`` may call, by the names its bodies
    mention (a call through ``self.name`` too), and theirs in turn: a result a cache keeps
    is theirs as well, and a later test reading it runs none of them."""
    by_name: dict[str, list[Function]] = {}
    for name, function in every:
        by_name.setdefault(name.rsplit(".", 1)[-1], []).append(function)
    reached: set[str] = set()
    todo = list(start)
    while todo:
        for node in ast.walk(todo.pop()):
            mentioned = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            if mentioned in by_name and mentioned not in reached:
                reached.add(mentioned)
                todo.extend(by_name[mentioned])
    return reached


def _units(
    statements: list[ast.stmt], prefix: str, every: bool = False
) -> Iterator[tuple[str, Function]]:
    """The functions defined at module or class level, by qualified name: those whose
    decorators all keep them plain, or ``every`` one."""
    for node in statements:
        if isinstance(node, Function):
            if every or all(decorator_name(d) in PLAIN_DECORATORS for d in node.decorator_list):
                yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from _units(node.body, f"{prefix}{node.name}.", every)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                yield from _units(case.body, prefix, every)
        elif isinstance(node, _BLOCKS):
            blocks = [node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            for block in blocks:
                yield from _units(block, prefix, every)


def _caches(decorator: str) -> bool:
    """Whether the decorator's name says it keeps results in the function (a
    ``cached_property`` keeps them in the instance, which a test makes as a rule, and
    leaves the method in the skeleton as any other decorator does)."""
    name = decorator.lower().rsplit(".", 1)[-1]
    return name != "cached_property" and any(w in name for w in ("cache", "memo", "once", "lazy"))


def _code(function: Function) -> list[ast.stmt]:
    """The body's statements after its docstring; empty when only the docstring runs."""
    body = function.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:] if isinstance(first.value.value, str) else body
    if all(isinstance(s, ast.Global | ast.Nonlocal) for s in body):
        return []
    return body


def _end(function: Function) -> int:
    return function.end_lineno or function.lineno


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
