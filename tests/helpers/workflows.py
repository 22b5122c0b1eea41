"""Generating workflows in real projects, and the real linters that check them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fastci.cli import main
from fastci.errors import ExitCode
from tests.helpers.cli import fastci
from tests.helpers.git import CI_VARIABLES, new_project

BIN = Path(sys.executable).parent  # actionlint, shellcheck and check-jsonschema: dev wheels


def tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{name} is missing: pip install -e '.[dev]' installs it")
    return path


def tool_env() -> dict[str, str]:
    """PATH with the dev tools first, so actionlint finds shellcheck and checks every script."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def check(command: list[str | Path], cwd: Path) -> str:
    """Run a linter; its complaints (or '' when it has none)."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def workflow_path(project: Path, provider: str) -> Path:
    return project / (".github/workflows/ci.yml" if provider == "github" else ".gitlab-ci.yml")


def read_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def generate(
    capsys: pytest.CaptureFixture[str], project: Path, provider: str, *flags: str
) -> dict[str, Any]:
    """Write the workflow with ``flags`` and read it back as YAML."""
    result = fastci(capsys, "workflow", provider, "--root", project, *flags)
    assert result.code == ExitCode.OK, result.err
    return read_yaml(workflow_path(project, provider))


Generated = dict[str, tuple[Path, dict[str, Any]]]


def generate_for_each(
    tmp_path_factory: pytest.TempPathFactory,
    provider: str,
    option_sets: dict[str, tuple[str, ...]],
    pyproject_extra: dict[str, str] | None = None,
) -> Generated:
    """A project per option set (with its own [tool...] tables, if any) and its workflow."""
    generated: Generated = {}
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_VARIABLES:
            patch.delenv(variable, raising=False)
        for name, flags in option_sets.items():
            root = tmp_path_factory.mktemp(name) / "project"
            make_project(root, (pyproject_extra or {}).get(name, ""))
            assert main(["workflow", provider, "--root", str(root), *flags]) == ExitCode.OK
            generated[name] = (root, read_yaml(workflow_path(root, provider)))
    return generated


def make_project(path: Path, pyproject_extra: str = "") -> Path:
    return new_project(
        path,
        {
            "pyproject.toml": f'[project]\nname = "shop"\nversion = "0.1.0"\n{pyproject_extra}',
            "src/shop/__init__.py": "",
            "tests/test_shop.py": "def test_shop():\n    pass\n",
        },
    )


# Option sets every generated workflow must pass the linters with.
OPTION_SETS: dict[str, tuple[str, ...]] = {
    "defaults": (),
    "many-shards-and-pythons": (
        "--shards", "12", "--python", "3.10", "3.11", "3.12", "3.13", "--fail-under", "87.5",
    ),
    "pinned-and-mypy": ("--pin-sha", "--lint", "ruff,mypy", "--fastci-spec", "fastci==0.1.0"),
    "one-shard-no-lint": ("--shards", "1", "--lint", "none"),
    "pypy-mypy-only": ("--python", "pypy3.10", "--lint", "mypy", "--default-branch", "trunk"),
    "queue": ("--queue", "--python", "3.11", "3.12"),
}  # fmt: skip


def schema_complaints(generated: Generated, provider: str, schema: str) -> str:
    """What check-jsonschema says of every generated file against a published schema."""
    files = [workflow_path(root, provider) for root, _ in generated.values()]
    return check([tool("check-jsonschema"), "--builtin-schema", schema, *files], BIN)
