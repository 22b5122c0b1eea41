"""``fastci deps``: the dependency wheelhouse: its cache key, build, offline install and prune."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from fastci.config import Config, add_root_argument, add_setting_arguments, load_config
from fastci.errors import ExitCode

if TYPE_CHECKING:
    from fastci.deps.inputs import Sources
    from fastci.deps.interpreter import Interpreter
    from fastci.deps.key import InputChange, Key

NAME = "deps"
HELP = "cache key, build and offline install of the dependency wheelhouse"
KEY_SETTINGS = ("deps.requirements", "deps.extras", "deps.groups")
DIGEST_SHOWN = 12
LINE_SHOWN = 160


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    key = actions.add_parser("key", help="print the cache key of the dependency set")
    _common(key, "deps.wheelhouse")
    shown = key.add_mutually_exclusive_group()
    shown.add_argument("--explain", action="store_true", help="list every input with its hash")
    shown.add_argument("--json", action="store_true", help="print the key and its inputs as JSON")
    shown.add_argument(
        "--diff",
        metavar="OTHER",
        help="say which inputs differ from another key: a key with a wheelhouse here, "
        "a wheelhouse directory, its manifest.json, or a saved 'fastci deps key --json'",
    )
    build = actions.add_parser(
        "build",
        help="fill the wheelhouse with a wheel of every package, building only what is missing",
    )
    _common(build, "deps.wheelhouse", "deps.index-url", "deps.installer")
    install = actions.add_parser(
        "install", help="install the set from the wheelhouse, without the index"
    )
    _common(install, "deps.wheelhouse", "deps.index-url", "deps.installer")
    install.add_argument(
        "--allow-index",
        action="store_true",
        help="fetch from the index what the wheelhouse lacks instead of failing",
    )
    install.add_argument(
        "--project",
        action="store_true",
        help="also install the project itself, editable and without its dependencies",
    )
    prune = actions.add_parser("prune", help="remove the wheelhouses that no current key uses")
    _common(prune, "deps.wheelhouse")
    prune.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="KEY",
        help="keep this key's wheelhouse too (e.g. another Python's); repeatable",
    )
    prune.add_argument("--dry-run", action="store_true", help="list, remove nothing")


def _common(parser: argparse.ArgumentParser, *settings: str) -> None:
    add_root_argument(parser, nested=True)
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="the interpreter the set is for (default: the active virtualenv's, else fastci's)",
    )
    add_setting_arguments(parser, *KEY_SETTINGS, *settings, nested=True)


def run(args: argparse.Namespace) -> int:
    from fastci.deps.inputs import read_sources
    from fastci.deps.interpreter import probe
    from fastci.deps.key import compute_key

    config = load_config(args)
    sources = read_sources(config)
    interpreter = probe(args.python)
    key = compute_key(sources, interpreter)
    if args.action == "key":
        return _key(args, config, key)
    if args.action == "build":
        return _build(config, key, sources, interpreter)
    if args.action == "install":
        return _install(args, config, key, sources, interpreter)
    return _prune(config, key, args.keep, args.dry_run)


def _key(args: argparse.Namespace, config: Config, key: Key) -> int:
    from fastci.deps.key import diff_inputs, load_key_record

    if args.json:
        print(json.dumps(key.to_json(), indent=2, sort_keys=True))
    elif args.diff is not None:
        other, inputs = load_key_record(args.diff, config.wheelhouse_root)
        print(format_diff(key.value, other, diff_inputs(inputs, key.inputs)))
    elif args.explain:
        print(key.value)
        width = max(len(i.name) for i in key.inputs)
        for item in key.inputs:
            summary = item.lines[0] if len(item.lines) == 1 else f"{len(item.lines)} lines"
            print(f"  {item.name:<{width}}  {item.digest[:DIGEST_SHOWN]}  {summary}")
    else:
        print(key.value)
    return ExitCode.OK


def format_diff(current: str, other: str, changes: list[InputChange]) -> str:
    lines = [f"this key:  {current}", f"other key: {other}"]
    if not changes:
        lines.append("no input differs" + ("" if current == other else " (keys of another format)"))
    for change in changes:
        lines.append(f"{change.status}: {change.name}")
        lines.extend(f"    + {_short(line)}" for line in change.added)
        lines.extend(f"    - {_short(line)}" for line in change.removed)
    return "\n".join(lines)


def _short(line: str) -> str:
    """A lock file's package entry is one long line; its start names the package."""
    return line if len(line) <= LINE_SHOWN else line[: LINE_SHOWN - 1] + "…"


def _build(config: Config, key: Key, sources: Sources, interpreter: Interpreter) -> int:
    from fastci.deps.backend import Target, choose_backend
    from fastci.deps.key import diff_inputs, inputs_from_json
    from fastci.deps.verify import is_trusted
    from fastci.deps.wheelhouse import build_wheelhouse

    started = time.perf_counter()
    backend = choose_backend(config.deps_installer, interpreter, download=True)
    target = Target(interpreter, backend, config.deps_index_url)
    result = build_wheelhouse(config.wheelhouse_root, key, sources, target)
    count = result.reused + result.fetched
    where = _shown(result.directory)
    if result.up_to_date:
        print(f"wheelhouse {where} is complete: {count} wheels, all match the manifest")
    else:
        print(
            f"built wheelhouse {where}: {count} wheels ({result.reused} reused, "
            f"{result.fetched} downloaded or built) in {time.perf_counter() - started:.1f}s"
        )
    if result.previous is not None:
        _, before = inputs_from_json(result.previous.to_json(), result.previous.key)
        changes = diff_inputs(before, key.inputs)
        summary = ", ".join(
            f"{c.name} ({c.status}, +{len(c.added)} -{len(c.removed)})" for c in changes
        )
        print(f"  new key; changed since {result.previous.key}: {summary or 'nothing'}")
    unverifiable = [w.pin for w in result.manifest.wheels if not is_trusted(w, sources.hashes)]
    if unverifiable:
        print(
            "  built from sdists, so no hash in your requirement or lock files covers them "
            f"and install refuses them (--allow-index builds them): {', '.join(unverifiable)}"
        )
    _print_local(result.manifest.local, config.root, project_installed=False)
    return ExitCode.OK


def _install(
    args: argparse.Namespace, config: Config, key: Key, sources: Sources, interpreter: Interpreter
) -> int:
    from fastci.deps.backend import Target, choose_backend
    from fastci.deps.install import install

    started = time.perf_counter()
    backend = choose_backend(config.deps_installer, interpreter)
    result = install(
        config.wheelhouse_root / key.value,
        sources,
        Target(interpreter, backend, config.deps_index_url),
        allow_index=args.allow_index,
        project=args.project,
    )
    seconds = time.perf_counter() - started
    project = " and the project" if result.project else ""
    if args.project and not result.project:
        print("no installable project here (no setup.py, [project] or [build-system]): "
              "installing the dependencies only")  # fmt: skip
    if result.directory is None:
        print(f"no wheelhouse for this key: installed the set{project} from the index in "
              f"{seconds:.1f}s")  # fmt: skip
        return ExitCode.OK
    print(
        f"installed {result.packages} packages{project} from {_shown(result.directory)} "
        f"in {seconds:.1f}s" + (" (offline)" if not result.from_index else "")
    )
    if result.from_index:
        fetched = ", ".join(result.from_index)
        print(f"  from the index, missing or unusable in the wheelhouse: {fetched}")
    _print_local(result.local, config.root, project_installed=result.project)
    return ExitCode.OK


def _print_local(lines: tuple[str, ...], root: Path, project_installed: bool) -> None:
    """Editables and local directories: never in a wheelhouse, so the user installs them."""
    for line in lines:
        target = line.removeprefix("-e ").split(" @ ")[-1].strip()
        path = Path(unquote(urlparse(target).path) if "://" in target else target)
        is_project = (root / path).resolve() == root.resolve()
        if is_project and project_installed:
            continue
        hint = "--project installs it" if is_project else "install it yourself"
        print(f"  local source, not in the wheelhouse ({hint}): {line}")


def _prune(config: Config, key: Key, keep: list[str], dry_run: bool) -> int:
    from fastci.deps.wheelhouse import prune

    removed = prune(config.wheelhouse_root, [key.value, *keep], dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    total = sum(size for _, size in removed) / 1e6
    print(f"{verb} {len(removed)} wheelhouse(s), {total:.1f} MB; kept {key.value}")
    for directory, size in removed:
        print(f"  {_shown(directory)}  {size / 1e6:.1f} MB")
    return ExitCode.OK


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
