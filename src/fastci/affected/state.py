"""Whether a Python file keeps state between calls: a cache, a global, a shared object
that a function changes, so that a later test may read what an earlier test's call left
(such a file is one whole unit; see units.py)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

Function = ast.FunctionDef | ast.AsyncFunctionDef
# Callables that make a cache of the function they are given, called as functions.
_CACHE_FACTORIES = frozenset(
    ("lru_cache", "cache", "cached", "cachedmethod", "memoize", "memoized")
)
# Methods that change the object they are called on (a list's, dict's, set's, deque's).
_MUTATORS = frozenset(
    ("add", "append", "extend", "insert", "update", "setdefault", "__setitem__", "appendleft",
     "pop", "popitem", "popleft", "remove", "discard", "clear", "sort", "reverse", "rotate",
     "extendleft", "__delitem__", "difference_update", "intersection_update",
     "symmetric_difference_update")
)  # fmt: skip
# Values of a class attribute that methods may change through an instance, and the calls
# that make such a value (a dataclass field's default_factory makes one per instance).
_MUTABLE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_CONTAINERS = frozenset(
    ("list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque", "WeakSet",
     "WeakValueDictionary", "WeakKeyDictionary")
)  # fmt: skip


def keeps_state(tree: ast.Module, functions: list[Function]) -> bool:
    """Whether some function of the file (``functions``: all those defined at module or
    class level) may keep a result for a later call."""
    decorators = {
        id(d) for node in ast.walk(tree) if isinstance(node, Function) for d in node.decorator_list
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Global) or (isinstance(node, ast.ClassDef) and _class_state(node)):
            return True
        if isinstance(node, ast.Call) and id(node) not in decorators and _makes_cache(node):
            return True  # a cache made by a call (compute = lru_cache(compute))
    if _instance_state(tree):
        return True
    return any(_stores_outside(function) for function in functions)


def _instance_state(tree: ast.Module) -> bool:
    """Whether the file makes at module level an instance of one of its classes whose
    methods (but ``__init__``) store into it or cache a property in it, or a closure of
    one of its functions that keeps a ``nonlocal``: every test shares it."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    made = {
        decorator_name(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call)
    }
    closures = {  # a module-level closure keeping a nonlocal (counter = make_counter())
        node.name
        for node in tree.body
        if isinstance(node, Function) and any(isinstance(n, ast.Nonlocal) for n in ast.walk(node))
    }
    return bool(made & closures) or any(_changes_self(classes[n]) for n in made & classes.keys())


def _changes_self(cls: ast.ClassDef) -> bool:
    for method in cls.body:
        if not isinstance(method, Function) or method.name == "__init__" or not method.args.args:
            continue
        if any("cache" in decorator_name(d) for d in method.decorator_list):
            return True
        me = method.args.args[0].arg
        for node in ast.walk(method):
            if any(_base(target)[0] == me for target in _flat(_stored(node))):
                return True
    return False


def _class_state(cls: ast.ClassDef) -> bool:
    """Whether a method changes a class attribute's object through an instance: every
    instance shares it (``items = []`` in the class, ``self.items.append(x)``)."""
    shared = {
        target.id
        for statement in cls.body
        if isinstance(statement, ast.Assign | ast.AnnAssign) and _mutable(statement.value)
        for target in _flat(_stored(statement))
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(cls):
        for target in _flat(_stored(node)):
            bottom = target
            while isinstance(bottom, ast.Subscript | ast.Attribute) and not isinstance(
                bottom.value, ast.Name
            ):
                bottom = bottom.value
            if bottom is not target and getattr(bottom, "attr", None) in shared:
                return True
    return False


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Call):
        return decorator_name(value).rsplit(".", 1)[-1] in _CONTAINERS
    return isinstance(value, _MUTABLE)


def _makes_cache(call: ast.Call) -> bool:
    return decorator_name(call).rsplit(".", 1)[-1] in _CACHE_FACTORIES


def _stores_outside(function: Function) -> bool:
    """Whether the function stores into an object it did not make: an item or attribute
    of a name it never binds (``_cache[key] = value``, ``del _cache[key]``,
    ``setattr(settings, …)``), or a method known to change one (``_seen.add(x)``); a
    class's, reached through an instance (``type(self).count += 1``), too."""
    local = _local_names(function)
    return any(_outside(target, local) for n in ast.walk(function) for target in _flat(_stored(n)))


def _outside(target: ast.expr, local: set[str]) -> bool:
    base, shared = _base(target)
    if base is None:
        return False
    if base == "":  # an expression: (a if c else b).append(x) stores into a or b
        root = _root(target)
        if isinstance(root, ast.IfExp):
            return any(_outside(ast.Attribute(value=b, attr=""), local) for b in _branches(root))
    return shared or base == "type" or base not in local


def _root(target: ast.expr) -> ast.expr:
    """The expression whose object a target stores into an item or attribute of."""
    while True:
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
            target = target.func.value
        elif isinstance(target, ast.Subscript | ast.Attribute):
            target = target.value
        else:
            return target


def _branches(choice: ast.IfExp) -> Iterator[ast.expr]:
    for branch in (choice.body, choice.orelse):
        yield from _branches(branch) if isinstance(branch, ast.IfExp) else (branch,)


def _base(target: ast.expr) -> tuple[str | None, bool]:
    """The name of the object a target stores into an item or attribute of (None for a
    plain name), and whether the store reaches its class (``x.__class__.count``)."""
    base, shared = target, False
    while True:
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            base = base.func.value  # a method's result is its object's, as a rule
        elif isinstance(base, ast.Subscript | ast.Attribute):
            shared |= isinstance(base, ast.Attribute) and base.attr == "__class__"
            base = base.value
        else:
            break
    return (None if base is target else decorator_name(base)), shared


def _local_names(function: Function) -> set[str]:
    """The names the function binds itself: those it assigns, and its arguments but those
    whose default is an object made once and shared by every call (``reg=REGISTRY``,
    ``cache={}``)."""
    shared = {
        id(arg)
        for node in ast.walk(function)
        if isinstance(node, ast.arguments)
        for arg in _shared_defaults(node)
    }
    local = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg) and id(a) not in shared}
    local |= {
        n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    bound = set(local)
    for node in ast.walk(function):  # an alias of an object it did not make (s = SETTINGS)
        if isinstance(node, ast.Assign) and _aliased(node.value) not in bound | {""}:
            local -= {t.id for t in _flat(node.targets) if isinstance(t, ast.Name)}
    local.discard("cls")  # a class outlives the call; an instance is made per test, as a rule
    return local


def _aliased(value: ast.expr) -> str:
    """The name whose object an assigned value may be (``SETTINGS``, ``settings`` of
    ``settings.db``); "" for one the expression makes."""
    if isinstance(value, ast.Name):
        return value.id
    return (_base(value)[0] or "") if isinstance(value, ast.Attribute) else ""


def _shared_defaults(arguments: ast.arguments) -> Iterator[ast.arg]:
    """The arguments whose default is not a constant."""
    positional = arguments.posonlyargs + arguments.args
    pairs = [
        *zip(
            positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True
        ),
        *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
    ]
    return (arg for arg, default in pairs if default and not isinstance(default, ast.Constant))


def _stored(node: ast.AST) -> list[ast.expr]:
    """What a statement or call stores into: an assignment's or ``del``'s targets, the
    object a mutating method is called on, and the object ``setattr``/``delattr`` change
    (as an attribute of it)."""
    if isinstance(node, ast.Assign | ast.Delete):
        return node.targets
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    if not isinstance(node, ast.Call):
        return []
    if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
        return [node.func]
    if isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") and node.args:
        return [ast.Attribute(value=node.args[0], attr="", ctx=ast.Store())]
    return []


def _flat(targets: list[ast.expr]) -> Iterator[ast.expr]:
    """Assignment targets with tuples and lists unpacked (``a[i], a[j] = …``)."""
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            yield from _flat(target.elts)
        elif isinstance(target, ast.Starred):
            yield from _flat([target.value])
        else:
            yield target


def decorator_name(decorator: ast.expr) -> str:
    """A decorator's dotted name, its call's arguments left out (``a.b`` for ``@a.b(x)``)."""
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    parts: list[str] = []
    while isinstance(decorator, ast.Attribute):
        parts.append(decorator.attr)
        decorator = decorator.value
    if isinstance(decorator, ast.Name):
        parts.append(decorator.id)
    name = ".".join(reversed(parts))
    if ".mark." in f".{name}.":  # pytest.mark.anything, mark.anything
        return "pytest.mark"
    return name.rsplit(".", 1)[-1] if name.endswith((".setter", ".getter", ".deleter")) else name
