"""Requirement files (pip's format): parsed, validated and normalised, with their includes."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from fastci.errors import UsageError

# Options pip accepts in a requirement file, by every spelling, mapped to one spelling so
# `-i URL` and `--index-url=URL` normalise alike. True: the option takes a value.
OPTIONS: dict[str, tuple[str, bool]] = {
    "-r": ("--requirement", True),
    "--requirement": ("--requirement", True),
    "-c": ("--constraint", True),
    "--constraint": ("--constraint", True),
    "-e": ("--editable", True),
    "--editable": ("--editable", True),
    "-i": ("--index-url", True),
    "--index-url": ("--index-url", True),
    "--extra-index-url": ("--extra-index-url", True),
    "-f": ("--find-links", True),
    "--find-links": ("--find-links", True),
    "--no-binary": ("--no-binary", True),
    "--only-binary": ("--only-binary", True),
    "--trusted-host": ("--trusted-host", True),
    "--use-feature": ("--use-feature", True),
    "--config-settings": ("--config-settings", True),
    "--global-option": ("--global-option", True),
    "--no-index": ("--no-index", False),
    "--pre": ("--pre", False),
    "--prefer-binary": ("--prefer-binary", False),
    "--require-hashes": ("--require-hashes", False),
}
INCLUDES = ("--requirement", "--constraint")
PER_REQUIREMENT_OPTIONS = ("--hash", "--config-settings", "--global-option")
# A comment starts at a '#' at the start of a line or after whitespace (pip's rule).
COMMENT = re.compile(r"(^|\s+)#.*$")
# Lines naming an archive, a directory or a URL rather than a project on the index.
DIRECT = re.compile(r"^(\.{0,2}/|[A-Za-z][A-Za-z0-9+.-]*://)|\.(whl|zip|tar\.gz|tar\.bz2|tgz)$")


@dataclasses.dataclass(frozen=True)
class RequirementFile:
    """One parsed file: its path relative to the root (POSIX) and its normalised lines."""

    name: str
    path: Path
    lines: tuple[str, ...]
    includes: tuple[Path, ...]


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, content) with continuations joined and comments and blanks dropped."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            buffer.append(raw[:-1])
            continue
        buffer.append(raw)
        line = COMMENT.sub("", " ".join(buffer)).strip()
        buffer = []
        if line:
            yield start, line
    line = COMMENT.sub("", " ".join(buffer)).strip()
    if line:
        yield start, line


def normalise_requirement(text: str) -> str:
    """A requirement written one canonical way; raises InvalidRequirement when it is not one."""
    requirement = Requirement(text)
    parts: list[str] = [canonicalize_name(requirement.name)]
    if requirement.extras:
        parts.append("[" + ",".join(sorted(canonicalize_name(e) for e in requirement.extras)) + "]")
    parts.append(str(requirement.specifier))
    if requirement.url:
        parts.append(f" @ {requirement.url}")
    if requirement.marker is not None:
        parts.append(f" ; {requirement.marker}")
    return "".join(parts)


def parse_requirement_file(path: Path, root: Path) -> RequirementFile:
    """Read one requirement file; every bad line is a UsageError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"cannot read requirement file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"requirement file {path} is not UTF-8 text") from None
    name = relative_name(path, root)
    lines: list[str] = []
    includes: list[Path] = []
    for number, line in logical_lines(text):
        where = f"{name}:{number}"
        if line.startswith("-"):
            option, value = _split_option(line, where)
            if option in INCLUDES and not _is_url(value):
                included = (path.parent / value).resolve()
                if not included.is_file():
                    raise UsageError(
                        f"{where}: included file {value} does not exist "
                        f"(looked for {relative_name(included, root)})"
                    )
                includes.append(included)
                value = relative_name(included, root)
            lines.append(f"{option} {value}".rstrip())
        else:
            lines.append(_normalise_line(line, where))
    return RequirementFile(name, path, tuple(sorted(set(lines))), tuple(includes))


def _split_option(line: str, where: str) -> tuple[str, str]:
    if line.startswith("--"):
        spelling, value = (
            re.split(r"[=\s]", line, maxsplit=1) if re.search(r"[=\s]", line) else (line, "")
        )
    else:
        spelling, value = line[:2], line[2:].lstrip("=")
    if spelling not in OPTIONS:
        raise UsageError(f"{where}: unknown option {spelling!r} in requirement file")
    option, takes_value = OPTIONS[spelling]
    value = value.strip()
    if takes_value and not value:
        raise UsageError(f"{where}: option {spelling} needs a value")
    if not takes_value and value:
        raise UsageError(f"{where}: option {spelling} takes no value, got {value!r}")
    return option, value


def _normalise_line(line: str, where: str) -> str:
    requirement, _, rest = line.partition(" --")
    options = sorted(_requirement_options(f"--{rest}", where)) if rest else []
    requirement = requirement.strip()
    if DIRECT.search(requirement) and "@" not in requirement:
        normalised = requirement
    else:
        try:
            normalised = normalise_requirement(requirement)
        except InvalidRequirement as e:
            reason = str(e).splitlines()[0]
            raise UsageError(
                f"{where}: not a valid requirement {requirement!r} ({reason})"
            ) from None
    return " ".join([normalised, *options])


def _requirement_options(text: str, where: str) -> list[str]:
    """``--hash``, ``--config-settings`` and ``--global-option`` after a requirement."""
    options = []
    for match in re.finditer(r"(--[A-Za-z-]+)(?:[=\s]+(?!--)(\S+))?", text):
        name, value = match.group(1), match.group(2)
        if name not in PER_REQUIREMENT_OPTIONS:
            raise UsageError(f"{where}: unsupported per-requirement option {name!r}")
        if value is None:
            raise UsageError(f"{where}: option {name} needs a value")
        options.append(f"{name}={value}")
    return options


def _is_url(value: str) -> bool:
    return "://" in value


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, so a key never depends on the checkout."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def read_requirement_files(paths: list[Path], root: Path) -> list[RequirementFile]:
    """The given files and every file they include, each once, in name order."""
    seen: dict[Path, RequirementFile] = {}
    pending = [p.resolve() for p in paths]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        parsed = parse_requirement_file(path, root)
        seen[path] = parsed
        pending.extend(parsed.includes)
    return sorted(seen.values(), key=lambda f: f.name)
