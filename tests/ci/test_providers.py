"""Run ids: what the shards of one run agree on without being told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.git import CI_VARIABLES, git
from tests.helpers.projects import Project, write_sample_suite

NOT_FROM_CI = dict.fromkeys((*CI_VARIABLES, "GITHUB_RUN_ID", "CI_PIPELINE_ID"), "")


def shard_run_ids(project: Project, results: Path, total: int = 2) -> set[str]:
    """Run every shard of ``total`` as its own process; the run id each bundle records."""
    ids = set()
    for k in range(1, total + 1):
        proc = project.fastci(
            "run", "--shard", f"{k}/{total}", "--results", str(results), "-j", "1",
            env={**NOT_FROM_CI, "FASTCI_RUN_ID": ""},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        manifest = json.loads((results / f"fastci-shard-{k}-of-{total}/manifest.json").read_text())
        ids.add(manifest["run_id"])
    return ids


@pytest.fixture
def checkout(project: Project) -> Project:
    write_sample_suite(project)
    git(project.root, "init", "-q")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "suite")
    return project


def test_shards_run_on_one_checkout_share_a_run_id_derived_from_its_commit(
    checkout: Project, tmp_path: Path
) -> None:
    commit = git(checkout.root, "rev-parse", "HEAD").strip()
    assert shard_run_ids(checkout, tmp_path / "a") == {f"git-{commit[:12]}"}


def test_uncommitted_changes_give_another_run_id_that_every_shard_still_shares(
    checkout: Project, tmp_path: Path
) -> None:
    clean = shard_run_ids(checkout, tmp_path / "a")
    (checkout.root / "tests/test_alpha.py").write_text(
        (checkout.root / "tests/test_alpha.py").read_text() + "\n# changed\n"
    )
    changed = shard_run_ids(checkout, tmp_path / "b")
    assert len(changed) == 1
    assert changed != clean


def test_fastci_run_id_overrides_the_derived_one(checkout: Project, tmp_path: Path) -> None:
    proc = checkout.fastci(
        "run", "--shard", "1/2", "--results", str(tmp_path), env={"FASTCI_RUN_ID": "mine"}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "fastci-shard-1-of-2/manifest.json").read_text())["run_id"] == (
        "mine"
    )
