"""Tests added to a test file: the additions that change nothing its earlier tests run.

A name that did not exist cannot be reached by an earlier test, so an added test or helper
leaves them as they were, unless its name existed after all: bound elsewhere in its module
or class (an import it shadows, an attribute), a builtin, or inherited from a base class it
overrides, or found by looking through a namespace (``globals()``). Those, and what
frameworks call by its name, make the whole file run.
"""

from __future__ import annotations

import ast
import builtins
from collections import Counter
from collections.abc import Callable

from fastci.affected.state import Function, decorator_name
from fastci.affected.units import PLAIN_DECORATORS, SKELETON, fingerprint

# Functions that frameworks call by their names: a new one changes what runs around tests.
_CALLED_BY_NAME = ("setup", "teardown", "setUp", "tearDown", "asyncSetUp", "asyncTearDown",
                   "pytest_", "load_tests", "__")  # fmt: skip
# Bases that define no test… names and run no code for a subclass: a test added to their
# subclass overrides nothing.
_TEST_CASES = frozenset(
    ("unittest.TestCase", "TestCase", "unittest.IsolatedAsyncioTestCase", "IsolatedAsyncioTestCase")
)
_BUILTINS = frozenset(dir(builtins))
# Names through which code finds functions and classes without naming them: an earlier test
# that iterates a module's or class's namespace meets the added ones too.
_NAMESPACES = frozenset(("globals", "locals", "modules", "__subclasses__"))

Taken = Callable[[str], bool]  # whether a name added to a scope may stand for what was there


def added_tests(old: dict[str, str], tree: ast.Module) -> set[str] | None:
    """For a test file whose skeleton changed: the functions and classes added since ``old``
    when they are the whole change outside function bodies, else None. An addition is a
    test (``test…``, marks its only decorators), a helper that no framework calls by its
    name, or a class holding only methods, each with a name nothing had before (see the
    module's docstring), in a file that never looks names up in a namespace. The tree is
    consumed."""
    if _introspects(tree):
        return None
    added: set[str] = set()
    bound = _bound(tree.body)
    _cut_added(tree.body, "", old, added, lambda n: bound[n] > 1 or n in _BUILTINS or "*" in bound)
    if not added or fingerprint(tree).get(SKELETON) != old.get(SKELETON):
        return None
    return added


def _cut_added(
    statements: list[ast.stmt], prefix: str, old: dict[str, str], added: set[str], taken: Taken
) -> None:
    """Take the tests ``old`` does not know out of ``statements`` (and classes' bodies)."""
    for node in list(statements):
        name = prefix + getattr(node, "name", "")
        if isinstance(node, Function) and name not in old and _inert(node, taken):
            statements.remove(node)
            added.add(name)
        elif isinstance(node, ast.ClassDef) and not prefix:
            if any(key.startswith(f"{name}.") for key in old):
                _cut_added(node.body, f"{name}.", old, added, _taken_in(node))
            elif _new_class(node) and not taken(node.name):
                statements.remove(node)
                added.add(name)


def _inert(function: Function, taken: Taken) -> bool:
    """Whether a new function changes nothing until something calls it by its new name: a
    test with marks at most, or an undecorated helper that no framework calls by its name
    (setup and teardown methods, pytest hooks, dunders), and its name is new to its scope."""
    if taken(function.name):
        return False
    if function.name.startswith("test"):
        return all(decorator_name(d) == "pytest.mark" for d in function.decorator_list)
    return not function.decorator_list and not function.name.startswith(_CALLED_BY_NAME)


def _taken_in(cls: ast.ClassDef) -> Taken:
    """Which names added to the class may override one: those its body binds twice, and
    any a base class may define but ``test…`` ones on a plain TestCase."""
    bound = _bound(cls.body)
    bases = {decorator_name(base) for base in cls.bases} - {"object"}
    if cls.keywords or not bases <= _TEST_CASES:
        return lambda name: True
    return lambda name: bound[name] > 1 or bool(bases and not name.startswith("test"))


def _new_class(cls: ast.ClassDef) -> bool:
    """Whether an added class runs nothing when defined: methods only, no decorator, no
    base class but a plain TestCase (a base's ``__init_subclass__`` or metaclass may
    register it), and it overrides no name of its own."""
    bases = {decorator_name(base) for base in cls.bases} - {"object"}
    if cls.decorator_list or cls.keywords or not bases <= _TEST_CASES:
        return False
    return all(_method_or_doc(s) for s in cls.body) and not any(
        count > 1 for count in _bound(cls.body).values()
    )


def _method_or_doc(node: ast.stmt) -> bool:
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    return isinstance(node, Function) and all(
        decorator_name(d) in PLAIN_DECORATORS for d in node.decorator_list
    )


def _bound(statements: list[ast.stmt]) -> Counter[str]:
    """How many times the statements of a module's or class's body bind each name (not
    inside their functions and classes); ``*`` for a star import, which may bind any."""
    counts: Counter[str] = Counter()
    todo: list[ast.AST] = list(statements)
    while todo:
        node = todo.pop()
        if isinstance(node, Function | ast.ClassDef):
            counts[node.name] += 1
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            counts[node.id] += 1
        elif isinstance(node, ast.alias):
            counts[(node.asname or node.name).split(".")[0]] += 1
        todo.extend(ast.iter_child_nodes(node))
    return counts


def _introspects(tree: ast.Module) -> bool:
    """Whether the file may find one of its own functions or classes by looking through a
    namespace (``globals()``, ``dir(self)``, ``vars(SomeTests)``, ``Cls.__dict__``,
    ``inspect.getmembers(type(self))``, ``sys.modules``, ``__subclasses__``) or by a name it
    computes on one (``getattr(self, "check_" + kind)``). ``vars(result)`` of an object the
    code under test returned looks through that object, not the file."""
    own = {n.name for n in tree.body if isinstance(n, Function | ast.ClassDef)}
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if name in _NAMESPACES:
            return True
        if name == "__dict__" and isinstance(node, ast.Attribute) and _own(node.value, own):
            return True
        if isinstance(node, ast.Call) and _looks_through(node, own):
            return True
    return False


def _looks_through(call: ast.Call, own: set[str]) -> bool:
    called = decorator_name(call).rsplit(".", 1)[-1]
    first = call.args[0] if call.args else None
    if called in ("vars", "dir", "getmembers"):
        return first is None or _own(first, own)
    if called in ("getattr", "hasattr") and first is not None and len(call.args) > 1:
        return not isinstance(call.args[1], ast.Constant) and _own(first, own)
    return False


def _own(expr: ast.expr, own: set[str]) -> bool:
    """Whether an expression may stand for this file's module, or one of its classes or
    their instances (``self``, ``cls``, ``type(self)``, ``self.__class__``, a class name)."""
    if isinstance(expr, ast.Name):
        return expr.id in own or expr.id in ("self", "cls", "__name__")
    if isinstance(expr, ast.Attribute):
        return expr.attr == "__class__" or _own(expr.value, own)
    if isinstance(expr, ast.Call):
        made = decorator_name(expr)  # type(self), or an instance of a class of the file
        return made == "type" or made in own or any(_own(a, own) for a in expr.args)
    return isinstance(expr, ast.Subscript)  # sys.modules[__name__], a registry's entry
