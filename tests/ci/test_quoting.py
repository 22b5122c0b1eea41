"""Hostile configuration values: quoted for YAML, shell and expressions, or refused in one line."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fastci.ci.doctor import check_workflows
from fastci.ci.quoting import scalar
from fastci.ci.workflow import with_extra
from fastci.cli import main
from fastci.config import load_config
from fastci.errors import ExitCode
from tests.helpers.git import CI_VARIABLES
from tests.helpers.workflows import check, make_project, tool, workflow_path

pytestmark = pytest.mark.usefixtures("no_ci")

HOSTILE = {
    "command": "$(touch PWNED)",
    "backticks": "`touch PWNED`",
    "single-quote": "it's",
    "double-quote": 'say "hi"',
    "newline": "a\ntouch PWNED",
    "expression": "${{ github.token }}",
    "percent": "100%",
    "star": "*",
    "yaml": "a: #b",
    "filter": "!x+y]",  # what a GitHub branch filter reads as pattern syntax
}
# Each setting and how a value reaches it: a [tool.fastci] line, or flags.
SETTINGS: dict[str, Callable[[str], tuple[str, tuple[str, ...]]]] = {
    "store": lambda v: (f"store = {json.dumps(f'.fastci/t{v}.db')}", ()),
    "wheelhouse": lambda v: (f"deps.wheelhouse = {json.dumps(f'wheels/{v}')}", ()),
    "default-branch": lambda v: ("", ("--default-branch", f"b{v}")),
    "include": lambda v: ("", ("--extend-include", f"{v}.cfg")),
    "exclude": lambda v: ("", ("--exclude", f"{v}.md")),
    "fastci-spec": lambda v: ("", ("--fastci-spec", f"./{v}")),
}
# What no quoting carries: line breaks and ${{ anywhere; pattern and variable characters in
# paths CI caches read as patterns; $ in the globs GitLab expands variables in.
REFUSED = {
    *((setting, value) for setting in SETTINGS for value in ("newline", "expression")),
    *((path, value) for path in ("store", "wheelhouse") for value in ("command", "star")),
    # git names no branch with a space, a colon, a * or a [
    *(("default-branch", value) for value in ("command", "backticks", "double-quote", "star")),
    ("default-branch", "yaml"),
    *((path, "filter") for path in ("store", "wheelhouse")),
}
REFUSED_ON_GITLAB = {("include", "command")}

Case = tuple[str, str, str]  # provider, setting, value name


def _generate(root: Path, case: Case) -> tuple[int, str]:
    provider, setting, name = case
    table, flags = SETTINGS[setting](HOSTILE[name])
    pyproject = f'[project]\nname = "shop"\nversion = "0.1.0"\n\n[tool.fastci]\n{table}\n'
    (root / "pyproject.toml").write_text(pyproject)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["workflow", provider, "--root", str(root), "--stdout", *flags])
    return code, out.getvalue() if code == ExitCode.OK else err.getvalue()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[Case, tuple[int, str]]:
    """Every provider, setting and hostile value: the exit code, and the file or the error."""
    root = make_project(tmp_path_factory.mktemp("hostile") / "project")
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_VARIABLES:
            patch.delenv(variable, raising=False)
        return {
            (p, s, v): _generate(root, (p, s, v))
            for p in ("github", "gitlab")
            for s in SETTINGS
            for v in HOSTILE
        }


def _refused(case: Case) -> bool:
    provider, setting, name = case
    return (setting, name) in REFUSED or (
        provider == "gitlab" and (setting, name) in REFUSED_ON_GITLAB
    )


def _written(generated: dict[Case, tuple[int, str]]) -> dict[Case, dict[Any, Any]]:
    return {case: yaml.safe_load(text) for case, (code, text) in generated.items() if code == 0}


def test_values_no_quoting_can_carry_are_refused_in_one_line_and_the_rest_are_written(
    generated: dict[Case, tuple[int, str]],
) -> None:
    for case, (code, text) in generated.items():
        if _refused(case):
            assert code == ExitCode.USAGE_ERROR, case
            assert text.startswith("fastci: error: "), (case, text)
            assert text.count("\n") == 1, (case, text)
        else:
            assert code == ExitCode.OK, (case, text)


def test_every_written_file_is_yaml_that_keeps_each_value_exactly(
    generated: dict[Case, tuple[int, str]],
) -> None:
    for case, document in _written(generated).items():
        provider, setting, name = case
        value = HOSTILE[name]
        expected = {
            "store": f".fastci/t{value}.db",
            "wheelhouse": f"wheels/{value}" + ("/" if provider == "gitlab" else ""),
            # GitLab's rules: changes take the pattern, as a glob, unless it negates
            "include": f"**/{value}.cfg" if provider == "gitlab" and value[0] != "!" else None,
            "fastci-spec": f"./{value}",
        }.get(setting)
        if setting == "default-branch" and provider == "github":
            (branch,) = document[True]["push"]["branches"]  # YAML 1.1 reads `on` as true
            assert re.sub(r"\\(.)", r"\1", branch) == f"b{value}", case  # \ escapes in filters
        elif expected is not None:
            assert expected in set(_strings(document)), case


def test_doctor_finds_each_written_file_is_what_the_command_in_its_header_writes(
    generated: dict[Case, tuple[int, str]], tmp_path: Path
) -> None:
    root = make_project(tmp_path / "project")
    for case, (code, text) in generated.items():
        provider, setting, name = case
        if code != 0 or not SETTINGS[setting](HOSTILE[name])[1]:
            continue  # values from pyproject.toml are not in the command
        path = workflow_path(root, provider)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        (finding,) = check_workflows(load_config(root=root))
        path.unlink()
        assert finding.level == "ok", (case, finding.message)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_every_written_github_workflow_passes_actionlint_with_shellcheck(
    generated: dict[Case, tuple[int, str]], tmp_path: Path
) -> None:
    tool("shellcheck")  # actionlint checks the run: scripts only when shellcheck is found
    files = _files(generated, "github", tmp_path / ".github" / "workflows")
    assert check([tool("actionlint"), "-no-color", *files], tmp_path) == ""


@pytest.mark.parametrize(
    ("provider", "schema"),
    [("github", "vendor.github-workflows"), ("gitlab", "vendor.gitlab-ci")],
)
def test_every_written_file_matches_the_published_schema(
    generated: dict[Case, tuple[int, str]], tmp_path: Path, provider: str, schema: str
) -> None:
    files = _files(generated, provider, tmp_path)
    assert check([tool("check-jsonschema"), "--builtin-schema", schema, *files], tmp_path) == ""


def _files(generated: dict[Case, tuple[int, str]], provider: str, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for (p, setting, name), (code, text) in generated.items():
        if p == provider and code == 0:
            files.append(directory / f"{setting}-{name}.yml")
            files[-1].write_text(text)
    return files


def _shell_lines(provider: str, document: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Every shell line the provider would run, and the variables it would set for them."""
    if provider == "github":
        runs = [s["run"] for job in document["jobs"].values() for s in job.get("steps", [])
                if "run" in s]  # fmt: skip
        return runs, {k: v for k, v in document["env"].items() if "${{" not in v}
    jobs = [document["default"], *(v for v in document.values() if isinstance(v, dict))]
    lines = [line for job in jobs for key in ("before_script", "script")
             for line in job.get(key, [])]  # fmt: skip
    variables = {k: v["value"] if isinstance(v, dict) else v
                 for k, v in document["variables"].items()}  # fmt: skip
    return lines, variables


def test_running_every_script_line_runs_no_value_as_a_command(
    generated: dict[Case, tuple[int, str]], tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"  # the one command a value could run; fastci, pip... are absent
    bin_dir.mkdir()
    (bin_dir / "touch").symlink_to(shutil.which("touch") or "/usr/bin/touch")
    bash = shutil.which("bash") or "/bin/bash"
    for case, document in _written(generated).items():
        lines, variables = _shell_lines(case[0], document)
        for line in lines:
            subprocess.run(
                [bash, "-c", line], cwd=tmp_path, env={**variables, "PATH": str(bin_dir)},
                capture_output=True, check=False,
            )  # fmt: skip
            assert not (tmp_path / "PWNED").exists(), (case, line)


# Any printable text, and text made of what YAML 1.1 numbers, dates and keywords are made of.
TEXT = st.one_of(
    st.text(st.characters(codec="utf-8").filter(str.isprintable), min_size=1),
    st.text(st.sampled_from("0123456789.-+:eExXoTtZ_ =<~abfilnrsuy"), min_size=1),
)


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_a_scalar_reads_back_as_the_same_string(value: str) -> None:
    assert yaml.safe_load(f"key: {scalar(value)}\n") == {"key": value}


@pytest.mark.parametrize(
    ("spec", "with_deps"),
    [
        ("fastci", "fastci[deps]"),
        ("fastci==0.1.0", "fastci[deps]==0.1.0"),
        ("fastci[html] >=0.1", "fastci[html,deps] >=0.1"),
        (
            "fastci @ git+https://example.org/fastci",
            "fastci[deps] @ git+https://example.org/fastci",
        ),
        (".", ".[deps]"),
        ("dist/fastci-0.1.0-py3-none-any.whl", "dist/fastci-0.1.0-py3-none-any.whl[deps]"),
        ("https://example.org/fastci.tar.gz", "fastci[deps] @ https://example.org/fastci.tar.gz"),
    ],
)
def test_the_deps_extra_is_pinned_the_way_fastci_is(spec: str, with_deps: str) -> None:
    assert with_extra(spec, "deps") == with_deps
