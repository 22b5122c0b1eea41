"""Writing configured values into YAML, shell and GitHub expressions, or refusing them.

A workflow is text that three languages read in turn: YAML, then the CI provider (GitHub's
``${{ }}`` expressions, GitLab's ``$VARIABLE`` expansion), then the shell. A value from the
configuration (a path, a branch, a pattern, a pip requirement) is quoted for each language it
passes through. What no quoting can carry safely is refused with a usage error: line breaks
and other unprintable characters, ``${{``, and in paths that CI caches read as patterns the
characters patterns and variables are made of.
"""

from __future__ import annotations

import json
import re
import shlex

from fastci.errors import UsageError

# A plain YAML scalar: no indicator at the start, no ": " or " #" inside, no space at the ends.
_PLAIN = re.compile(r"^(?![-?:,\[\]{}#&*!|>'\"%@`\s])(?!.*(?::\s|\s#|:$|\s$)).+$")
# What YAML 1.1 may read as something other than a string when left plain: numbers, dates,
# .inf and .nan, = and << (the value and merge keys), ~ and the null and boolean words.
_TYPED = re.compile(
    r"^(?:[-+]?\.?[0-9].*|[-+]?\.(?:inf|nan)|[=<~].*|null|true|false|yes|no|on|off|y|n)$",
    re.IGNORECASE | re.DOTALL,
)
# Characters GitHub's cache paths and hashFiles(), and GitLab's cache, artifact and changes
# paths, read as a pattern or a variable: a path holding one names other files.
PATH_SPECIAL = "*?[]{}\\$!~"
# Characters git allows in no branch name (besides control characters).
BRANCH_SPECIAL = " ~^:?*[\\"
# Characters a GitHub branch filter reads as pattern syntax; a backslash makes them literal.
_FILTER_SPECIAL = re.compile(r"([*?+\[!\\])")


def q(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (a JSON string is one), non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False)


def scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back as this same string."""
    if _PLAIN.match(value) and not _TYPED.match(value):
        return value
    return q(value)


def sh(value: str) -> str:
    """``value`` as one shell word."""
    return shlex.quote(value)


def expression_string(value: str) -> str:
    """``value`` as a string literal of GitHub's expression language."""
    return "'" + value.replace("'", "''") + "'"


def branch_filter(branch: str) -> str:
    """A GitHub ``branches:`` filter that matches exactly ``branch``."""
    return _FILTER_SPECIAL.sub(r"\\\1", branch)


def check_text(what: str, value: str) -> str:
    """``value`` when a workflow can carry it; a UsageError naming ``what`` when not."""
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise UsageError(
            f"{what} {value!r} holds {bad!r}, which a workflow cannot carry; "
            "use a value on one line without control characters"
        )
    if "${{" in value:
        raise UsageError(
            f"{what} {value!r} holds '${{{{', which GitHub would evaluate as an expression; "
            "use a value without it"
        )
    return value


def check_branch(what: str, value: str) -> str:
    """``value`` when git can name a branch so, and a workflow carry it; else a UsageError."""
    return _check_characters(
        what,
        value,
        BRANCH_SPECIAL,
        valid=bool(value) and not value.startswith(("-", ".")) and ".." not in value,
        problem="is not a name git gives a branch; set [tool.fastci.changes] default-branch "
        "to the branch's name",
    )


def check_path(what: str, value: str) -> str:
    """``value`` when CI caches read it as the one path it names; else a UsageError."""
    return _check_characters(
        what,
        value,
        PATH_SPECIAL,
        valid=bool(value.strip()),
        problem="is not a plain path: CI caches read {chars} in it as a pattern or variable; "
        "use a path without them",
    )


def _check_characters(what: str, value: str, forbidden: str, *, valid: bool, problem: str) -> str:
    """``value`` unless it holds one of ``forbidden`` or is not ``valid``: then ``problem``
    (where {chars} names what it holds) as a UsageError."""
    check_text(what, value)
    chars = " ".join(sorted({c for c in value if c in forbidden}))
    if chars or not valid:
        raise UsageError(f"{what} {value!r} " + problem.format(chars=chars or "nothing"))
    return value
