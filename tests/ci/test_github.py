"""fastci workflow github: a workflow actionlint accepts, safe by default, whose steps work."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fastci.ci.github_steps import ACTIONS
from tests.helpers.git import commit, git
from tests.helpers.workflows import (
    OPTION_SETS,
    Generated,
    check,
    generate_for_each,
    schema_complaints,
    tool,
    tool_env,
)

pytestmark = pytest.mark.usefixtures("no_ci")

CONFIGURED = """
[tool.fastci]
shards = 3
store = "build/fastci-timings.db"

[tool.mypy]
strict = true
files = ["src"]
"""


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """One project per option set (and one configured in pyproject.toml), each with its ci.yml."""
    option_sets = {**OPTION_SETS, "configured": ()}
    return generate_for_each(tmp_path_factory, "github", option_sets, {"configured": CONFIGURED})


def steps(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, s) for job, spec in document["jobs"].items() for s in spec.get("steps", [])]


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    value = document["on"] if "on" in document else document[True]  # type: ignore[index]
    # (YAML 1.1 reads a bare `on` key as true)
    assert isinstance(value, dict)
    return value


def test_every_generated_workflow_passes_actionlint_with_shellcheck(
    workflows: Generated,
) -> None:
    tool("shellcheck")  # actionlint checks the run: scripts only when shellcheck is found
    complaints = {
        name: check([tool("actionlint"), "-no-color", ".github/workflows/ci.yml"], root)
        for name, (root, _) in workflows.items()
    }
    assert complaints == dict.fromkeys(workflows, "")


def test_every_generated_workflow_matches_the_published_schema(
    workflows: Generated,
) -> None:
    assert schema_complaints(workflows, "github", "vendor.github-workflows") == ""


def test_permissions_are_read_only_and_no_job_asks_for_more(
    workflows: Generated,
) -> None:
    for _, document in workflows.values():
        assert document["permissions"] == {"contents": "read"}
        assert all("permissions" not in job for job in document["jobs"].values())


def test_no_expression_is_expanded_inside_a_script(
    workflows: Generated,
) -> None:
    for _, document in workflows.values():
        for job, step in steps(document):
            assert "${{" not in step.get("run", ""), (job, step["name"])


def test_triggers_have_no_path_filters_and_no_pull_request_target(
    workflows: Generated,
) -> None:
    for _, document in workflows.values():
        on = triggers(document)
        assert "pull_request_target" not in on
        assert all(not (spec or {}).get("paths") for spec in on.values())
        assert all(not (spec or {}).get("paths-ignore") for spec in on.values())
    assert triggers(workflows["pypy-mypy-only"][1])["push"]["branches"] == ["trunk"]


def test_actions_are_pinned_to_a_major_version_or_with_pin_sha_to_a_commit(
    workflows: Generated,
) -> None:
    for name, (_, document) in workflows.items():
        pattern = r"@[0-9a-f]{40}$" if name == "pinned-and-mypy" else r"@v\d+$"
        for _, step in steps(document):
            if "uses" in step:
                assert re.search(pattern, step["uses"]), step["uses"]
                assert "/".join(step["uses"].split("@")[0].split("/")[:2]) in ACTIONS


def test_caches_and_the_timings_store_are_saved_only_from_trusted_refs(
    workflows: Generated,
) -> None:
    for _, document in workflows.values():
        trusted = document["env"]["FASTCI_TRUSTED"]
        assert "github.event.repository.default_branch" in trusted
        assert "github.event_name == 'push'" in trusted
        saves = [
            s for _, s in steps(document) if s.get("uses", "").startswith("actions/cache/save")
        ]
        assert saves
        assert all("env.FASTCI_TRUSTED == 'true'" in s["if"] for s in saves)
        assert not any(s.get("uses", "").startswith("actions/cache@") for _, s in steps(document))


def test_concurrency_cancels_superseded_runs_but_never_one_on_the_default_branch(
    workflows: Generated,
) -> None:
    concurrency = workflows["defaults"][1]["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    # On the default branch the group is the run's own id: nothing can share it.
    default_branch = (
        "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    )
    assert f"{default_branch} && github.run_id ||" in concurrency["group"]
    assert "github.event.pull_request.number || github.ref" in concurrency["group"]


def test_checkouts_are_shallow_and_only_the_gate_keeps_credentials(
    workflows: Generated,
) -> None:
    for _, document in workflows.values():
        for job, step in steps(document):
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["fetch-depth"] == 1
                assert step["with"]["persist-credentials"] is (job == "changes")


def test_the_test_matrix_runs_every_shard_to_the_end(
    workflows: Generated,
) -> None:
    test = workflows["many-shards-and-pythons"][1]["jobs"]["test"]
    assert test["strategy"]["fail-fast"] is False
    assert test["strategy"]["matrix"] == {
        "python": ["3.10", "3.11", "3.12", "3.13"],  # strings: 3.10 must not become 3.1
        "shard": list(range(1, 13)),
    }
    run_step = next(s for s in test["steps"] if "fastci run" in s.get("run", ""))
    assert 'else fastci run --shard "$SHARD" --results results --affected; fi' in run_step["run"]
    assert run_step["env"]["SHARD"] == "${{ matrix.shard }}/12"
    upload = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["if"] == "${{ !cancelled() }}"


def test_the_merge_expects_every_shard_and_applies_the_threshold(
    workflows: Generated,
) -> None:
    merge = workflows["many-shards-and-pythons"][1]["jobs"]["merge"]
    runs = [s["run"] for s in merge["steps"] if "fastci merge" in s.get("run", "")]
    assert runs == [
        f"fastci merge --expect-shards 12 --fail-under 87.5 --html fastci-report-py{p}.html "
        f"results/py{p}"
        for p in ("3.10", "3.11", "3.12", "3.13")
    ]
    assert merge["if"] == "${{ !cancelled() && needs.changes.outputs.run == 'true' }}"


def test_project_settings_shape_the_workflow(
    workflows: Generated,
) -> None:
    document = workflows["configured"][1]
    assert document["jobs"]["test"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    lint = [s.get("run") for s in document["jobs"]["lint"]["steps"]]
    assert "mypy" in lint  # the configuration names its files
    stores = {s["with"]["path"] for _, s in steps(document) if "timings" in s["name"]}
    assert stores == {"build/fastci-timings.db"}
    defaults = workflows["defaults"][1]
    assert [s.get("run") for s in defaults["jobs"]["lint"]["steps"]][-1].startswith("ruff")
    assert "lint" not in workflows["one-shard-no-lint"][1]["jobs"]


def test_every_shard_plans_from_the_one_timings_store_the_gate_found(
    workflows: Generated,
) -> None:
    document = workflows["defaults"][1]
    assert document["jobs"]["changes"]["outputs"]["timings-key"] == (
        "${{ steps.timings.outputs.cache-matched-key }}"
    )
    for job in ("test", "merge"):
        restore = next(s for s in document["jobs"][job]["steps"] if s["name"].endswith("store"))
        assert restore["with"]["key"] == "${{ needs.changes.outputs.timings-key }}"
        assert restore["with"]["fail-on-cache-miss"] is True


def _script(document: dict[str, Any], job: str, name_part: str) -> str:
    step = next(s for s in document["jobs"][job]["steps"] if name_part in s["name"])
    script = step["run"]
    assert isinstance(script, str)
    return script


@pytest.mark.parametrize(
    ("results", "passes"),
    [
        (("true", "success", "success", "success", "success"), True),
        (("false", "success", "skipped", "skipped", "skipped"), True),  # the gate skipped
        (("true", "success", "success", "failure", "success"), False),
        (("true", "success", "success", "cancelled", "skipped"), False),
        (("true", "success", "success", "success", "failure"), False),
        (("true", "success", "failure", "success", "success"), False),
        (("", "failure", "skipped", "skipped", "skipped"), False),  # the gate itself failed
        (("true", "success", "skipped", "skipped", "skipped"), False),  # run, yet nothing ran
    ],
)
def test_the_required_check_fails_on_any_failure_or_cancel_and_passes_a_gated_skip(
    workflows: Generated, results: tuple[str, str, str, str, str], passes: bool
) -> None:
    document = workflows["defaults"][1]
    verdict = document["jobs"]["verdict"]
    assert verdict["if"] == "always()"
    assert verdict["needs"] == ["changes", "lint", "test", "merge"]
    script = _script(document, "verdict", "Check")
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        env=dict(zip(("RUN", "CHANGES", "LINT", "TEST", "MERGE"), results, strict=True)),
        capture_output=True,
        check=False,
    )
    assert (result.returncode == 0) is passes, result.stdout


@pytest.mark.parametrize(
    ("change", "answer"), [("docs/guide.md", "false"), ("src/shop/cart.py", "true")]
)
def test_the_gate_step_reports_run_or_skip_and_never_fails_on_a_skip(
    workflows: Generated,
    tmp_path: Path,
    change: str,
    answer: str,
) -> None:
    root, document = workflows["defaults"]
    git(root, "checkout", "--quiet", "main")
    commit(root, {}, "add the workflow")  # it is untracked, so it would count as changed
    git(root, "checkout", "--quiet", "-B", f"change-{answer}", "main")
    commit(root, {change: "x = 1\n"})
    outputs = tmp_path / "github-output"
    outputs.touch()
    env = {**tool_env(), "GITHUB_OUTPUT": str(outputs)}
    script = _script(document, "changes", "Decide")

    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=root, env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert outputs.read_text() == f"run={answer}\n"


def test_the_gate_step_fails_when_the_gate_cannot_answer(
    workflows: Generated, tmp_path: Path
) -> None:
    root, document = workflows["defaults"]
    script = _script(document, "changes", "Decide")
    env = tool_env()

    result = subprocess.run(
        ["bash", "-e", "-c", script.replace("fastci gate", "fastci gate --base no-such-ref")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "fastci: error: --base no-such-ref is not in this clone" in result.stderr


def test_jobs_that_run_fastci_deps_install_the_deps_extra_pinned_like_fastci(
    workflows: Generated,
) -> None:
    for name, (_, document) in workflows.items():
        for job_id, job in document["jobs"].items():
            runs = [s.get("run", "") for s in job["steps"]]
            installs = [r for r in runs if r.startswith('uv pip install --system "$FASTCI')]
            if job_id == "verdict":
                assert installs == []
                continue
            deps = any(r.startswith("fastci deps") or "$(fastci deps" in r for r in runs)
            expected = "FASTCI_DEPS_SPEC" if deps else "FASTCI_SPEC"
            assert installs == [f'uv pip install --system "${expected}"'], (name, job_id)
            uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
            assert uses.index("astral-sh/setup-uv") < runs.index(installs[0]), (name, job_id)
        assert document["jobs"]["test"]["steps"][3]["run"].endswith('"$FASTCI_DEPS_SPEC"')
    pinned = workflows["pinned-and-mypy"][1]["env"]
    assert (pinned["FASTCI_SPEC"], pinned["FASTCI_DEPS_SPEC"]) == (
        "fastci==0.1.0",
        "fastci[deps]==0.1.0",
    )


def test_queue_mode_runs_every_job_from_one_queue_per_python_and_merges_from_redis(
    workflows: Generated,
) -> None:
    document = workflows["queue"][1]
    test = document["jobs"]["test"]
    run_step = next(s for s in test["steps"] if "fastci run" in s.get("run", ""))
    assert run_step["run"].splitlines()[1] == (
        'fastci run --queue "$FASTCI_QUEUE_URL" --run-id "github-$GITHUB_RUN_ID-$PYTHON" '
        '--queue-job "$PYTHON-$SHARD" --shards 4 --results results'
    )
    assert run_step["env"]["FASTCI_QUEUE_URL"] == "${{ secrets.FASTCI_QUEUE_URL }}"
    assert run_step["run"].startswith(': "${FASTCI_QUEUE_URL:?')  # no secret: fail, loudly
    assert document["env"]["FASTCI_SPEC"] == "fastci[queue]"
    merges = [
        s["run"].splitlines()[1]
        for s in document["jobs"]["merge"]["steps"]
        if "fastci merge" in s.get("run", "")
    ]
    assert merges == [
        f'fastci merge --queue "$FASTCI_QUEUE_URL" --run-id "github-$GITHUB_RUN_ID-{p}" '
        f"-o fastci-merged-py{p}"
        for p in ("3.11", "3.12")
    ]
