"""fastci workflow gitlab: a pipeline GitLab's schema accepts, equivalent to the GitHub one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastci.changes.gate import DEFAULT_INCLUDE, GateRules
from fastci.ci.gitlab import gitlab_globs
from tests.helpers.workflows import (
    OPTION_SETS,
    Generated,
    generate,
    generate_for_each,
    make_project,
    schema_complaints,
)

pytestmark = pytest.mark.usefixtures("no_ci")

# The keywords GitLab's CI/CD YAML reference documents, at the top level and in a job.
GLOBAL_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "spec"}
DEFAULT_KEYWORDS = {
    "after_script",
    "artifacts",
    "before_script",
    "cache",
    "hooks",
    "id_tokens",
    "image",
    "interruptible",
    "retry",
    "services",
    "tags",
    "timeout",
}
JOB_KEYWORDS = {
    "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
    "dast_configuration", "dependencies", "environment", "extends", "hooks", "identity",
    "id_tokens", "image", "inherit", "interruptible", "manual_confirmation", "needs", "pages",
    "parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets",
    "services", "stage", "tags", "timeout", "trigger", "variables", "when",
}  # fmt: skip


def gitlab_flags(flags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(flag for flag in flags if flag != "--pin-sha")  # a GitHub-only option


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    option_sets = {name: gitlab_flags(flags) for name, flags in OPTION_SETS.items()}
    return generate_for_each(tmp_path_factory, "gitlab", option_sets)


def test_every_generated_pipeline_matches_gitlabs_published_schema(
    pipelines: Generated,
) -> None:
    assert schema_complaints(pipelines, "gitlab", "vendor.gitlab-ci") == ""


def test_every_key_is_one_gitlab_documents(
    pipelines: Generated,
) -> None:
    for _, document in pipelines.values():
        assert set(document["default"]) <= DEFAULT_KEYWORDS
        for name, value in document.items():
            if name in GLOBAL_KEYWORDS:
                continue
            assert isinstance(value, dict), name
            assert set(value) <= JOB_KEYWORDS, (name, set(value) - JOB_KEYWORDS)


def test_shards_run_in_parallel_and_superseded_pipelines_are_cancelled_except_on_main(
    pipelines: Generated,
) -> None:
    document = pipelines["many-shards-and-pythons"][1]
    tests = {name: job for name, job in document.items() if name.startswith("test-")}
    assert sorted(tests) == ["test-py3.10", "test-py3.11", "test-py3.12", "test-py3.13"]
    assert all(job["parallel"] == 12 for job in tests.values())
    assert all("fastci run --results" in " ".join(job["script"]) for job in tests.values())
    assert document["default"]["interruptible"] is True
    workflow = document["workflow"]
    assert workflow["auto_cancel"] == {"on_new_commit": "interruptible"}
    main_rule = next(r for r in workflow["rules"] if "auto_cancel" in r)
    assert main_rule["if"] == "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    assert main_rule["auto_cancel"] == {"on_new_commit": "none"}
    assert main_rule["variables"] == {"FASTCI_CACHE_POLICY": "pull-push"}  # the only writer


def test_the_merge_runs_after_failed_shards_and_expects_them_all(
    pipelines: Generated,
) -> None:
    merge = pipelines["many-shards-and-pythons"][1]["merge"]
    assert merge["rules"][0]["when"] == "always"
    assert [n["job"] for n in merge["needs"]] == [
        "timings", "test-py3.10", "test-py3.11", "test-py3.12", "test-py3.13",
    ]  # fmt: skip
    assert (
        "fastci merge --expect-shards 12 --fail-under 87.5 --html fastci-report-py3.10.html "
        "results/py3.10 || status=$?"
    ) in merge["script"]
    assert merge["script"][-1] == 'exit "$status"'


def test_caches_are_written_only_where_the_policy_allows(
    pipelines: Generated,
) -> None:
    document = pipelines["pinned-and-mypy"][1]
    assert document["variables"]["FASTCI_CACHE_POLICY"] == "pull"
    for name, job in document.items():
        if not isinstance(job, dict) or "cache" not in job:
            continue
        caches = job["cache"] if isinstance(job["cache"], list) else [job["cache"]]
        for cache in caches:
            if name.startswith("deps-"):  # runs only on the default branch
                assert job["rules"][0]["if"] == "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
            else:
                assert cache["policy"] in ("pull", "$FASTCI_CACHE_POLICY"), name


def test_the_gate_job_always_runs_so_a_skipped_pipeline_still_passes(
    pipelines: Generated,
) -> None:
    changes = pipelines["defaults"][1]["changes"]
    assert "rules" not in changes
    assert "extends" not in changes
    assert changes["script"] == ['fastci gate --verbose || test "$?" -eq 9']


def fnmatch_as_gitlab(glob: str, path: str) -> bool:
    """GitLab's rules:changes matching (Ruby File.fnmatch, FNM_PATHNAME | FNM_DOTMATCH)."""
    pattern = ""
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            pattern += "(?:.*/)?"
            i += 3
        elif glob[i] == "*":
            pattern += "[^/]*"
            i += 1
        elif glob[i] == "?":
            pattern += "[^/]"
            i += 1
        elif glob[i] == "[":
            end = glob.index("]", i)
            pattern += glob[i : end + 1]
            i = end + 1
        else:
            pattern += re.escape(glob[i])
            i += 1
    return re.fullmatch(pattern, path) is not None


SAMPLE_PATHS = [
    "setup.py", "src/shop/orders.py", "src/shop/templates/receipt.html", "tests/data/a.json",
    "deep/down/module.pyi", "README.md", "docs/index.md", "docs/conf.py", "pyproject.toml",
    "tools/pyproject.toml", "requirements-dev.txt", "requirements/base.in", "uv.lock",
    "pylock.dev.toml", ".github/workflows/ci.yml", ".github/CODEOWNERS", ".gitlab-ci.yml",
    "sub/.gitlab-ci.yml", "Pipfile", "images/logo.png", "CHANGELOG.md", ".python-version",
]  # fmt: skip


def test_rules_changes_select_the_same_paths_as_the_gate() -> None:
    rules = GateRules(DEFAULT_INCLUDE)
    globs, untranslatable = gitlab_globs(DEFAULT_INCLUDE)
    assert untranslatable == []
    for path in SAMPLE_PATHS:
        by_gate = rules.selecting_pattern(path) is not None
        by_gitlab = any(fnmatch_as_gitlab(glob, path) for glob in globs)
        assert by_gate == by_gitlab, path


def test_excludes_and_negations_are_named_as_not_applied_on_gitlab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path / "project")
    flags = ("--extend-include", "!tests/manual/", "--exclude", "docs/")

    generate(capsys, project, "gitlab", *flags)

    text = (project / ".gitlab-ci.yml").read_text()
    assert "GitLab runs the jobs for these too: !tests/manual/, exclude docs/" in text


def test_jobs_that_run_fastci_deps_install_the_deps_extra_pinned_like_fastci(
    pipelines: Generated,
) -> None:
    for name, (_, document) in pipelines.items():
        default = document["default"]["before_script"]
        assert default == ['python -m pip install "$FASTCI_SPEC"']
        for job_id, job in document.items():
            if job_id in GLOBAL_KEYWORDS or job_id.startswith("."):
                continue
            deps = any(line.startswith("fastci deps") for line in job["script"])
            before = job.get("before_script", default)
            expected = ['python -m pip install "$FASTCI_DEPS_SPEC"'] if deps else default
            assert before == (expected if job_id != "timings" else []), (name, job_id)
    variables = pipelines["pinned-and-mypy"][1]["variables"]
    assert variables["FASTCI_SPEC"] == {"value": "fastci==0.1.0", "expand": False}
    assert variables["FASTCI_DEPS_SPEC"] == {"value": "fastci[deps]==0.1.0", "expand": False}


def test_queue_mode_makes_parallel_jobs_runners_of_one_queue_and_merges_from_redis(
    pipelines: Generated,
) -> None:
    document = pipelines["queue"][1]
    script = document["test-py3.12"]["script"]
    assert script[-1] == (
        'fastci run --queue "$FASTCI_QUEUE_URL" --run-id "gitlab-$CI_PIPELINE_ID-3.12" '
        '--queue-job "3.12-$CI_NODE_INDEX" --shards 4 --results results/py3.12'
    )
    assert script[-2].startswith(': "${FASTCI_QUEUE_URL:?')
    merge = document["merge"]["script"]
    assert (
        'fastci merge --queue "$FASTCI_QUEUE_URL" --run-id "gitlab-$CI_PIPELINE_ID-3.11" '
        "-o fastci-merged-py3.11 || status=$?"
    ) in merge
