"""A rough count of a test file's tests, read from its syntax tree: for a first run, no timings.

Test functions at module level and in ``Test*`` classes count once each, times the number of
cases each ``@pytest.mark.parametrize`` with a literal list, tuple, set or ``range(n)`` gives
(stacked decorators multiply); a parametrize this cannot read counts ``UNREAD_CASES``.
Nothing is imported; a file that does not parse counts by its size.
"""

from __future__ import annotations

import ast
from pathlib import Path

UNREAD_CASES = 3
BYTES_PER_TEST = 250  # a file that does not parse: one test per this many bytes
MAX_CASES = 100_000


def counted_tests(path: Path, prefix: str = "test") -> int:
    """About how many tests the file at ``path`` holds (at least 1)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        try:
            return max(1, path.stat().st_size // BYTES_PER_TEST)
        except OSError:
            return 1
    return max(1, _count(tree.body, prefix))


def _count(body: list[ast.stmt], prefix: str) -> int:
    total = 0
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            prefix
        ):
            total += _cases(node.decorator_list)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            total += _count(node.body, prefix) * _cases(node.decorator_list)
    return total


def _cases(decorators: list[ast.expr]) -> int:
    """How many cases the parametrize decorators give: their product."""
    cases = 1
    for decorator in decorators:
        if isinstance(decorator, ast.Call) and _name(decorator.func).endswith("parametrize"):
            cases = min(MAX_CASES, cases * _values(decorator))
    return cases


def _values(call: ast.Call) -> int:
    if len(call.args) < 2:  # noqa: PLR2004 -- parametrize(names, values)
        return UNREAD_CASES
    values = call.args[1]
    if isinstance(values, ast.List | ast.Tuple | ast.Set):
        return max(1, len(values.elts))
    if isinstance(values, ast.Call) and _name(values.func) == "range" and len(values.args) == 1:
        bound = values.args[0]
        if isinstance(bound, ast.Constant) and isinstance(bound.value, int):
            return max(1, bound.value)
    return UNREAD_CASES


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""
