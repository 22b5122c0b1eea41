"""Which CI provider runs us, and what it says about this job: shard index, run id, branch."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fastci.settings import MAX_SHARDS


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    """Shard ``index`` (1-based) of ``total``, as in ``--shard 2/4``."""

    index: int
    total: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.total:
            raise ValueError("K/N with 1 <= K <= N")
        if self.total > MAX_SHARDS:
            raise ValueError(f"K/N with N at most {MAX_SHARDS}")

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    @property
    def slug(self) -> str:
        return f"shard-{self.index}-of-{self.total}"


def parse_shard(text: str) -> ShardSpec:
    """``K/N`` with 1 <= K <= N; raises ValueError saying what a valid value looks like."""
    try:
        index_text, total_text = text.split("/")
        index, total = int(index_text), int(total_text)
    except ValueError:
        raise ValueError("K/N, e.g. 2/4") from None
    return ShardSpec(index, total)


# (variable for the index, variable for the total, whether the index counts from 0)
_PARALLEL_VARIABLES = (
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", False),  # GitLab `parallel: N`
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", True),  # CircleCI `parallelism: N`
    ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", True),  # Buildkite
)


def shard_from_env(env: Mapping[str, str]) -> ShardSpec | None:
    """The shard the provider assigned this job, if it runs parallel jobs; else None."""
    for index_name, total_name, zero_based in _PARALLEL_VARIABLES:
        index_text, total_text = env.get(index_name), env.get(total_name)
        if not index_text or not total_text:
            continue
        try:
            index, total = int(index_text) + (1 if zero_based else 0), int(total_text)
        except ValueError:
            raise ValueError(
                f"{index_name}={index_text!r} / {total_name}={total_text!r} are not whole numbers"
            ) from None
        if total > 1:
            try:
                return ShardSpec(index, total)
            except ValueError as e:
                raise ValueError(
                    f"{index_name}={index_text} / {total_name}={total_text} is not {e}"
                ) from None
    return None


def run_id_from_env(env: Mapping[str, str]) -> str | None:
    """An id shared by every job of one pipeline run, so shards of one run can be told apart."""
    if env.get("GITHUB_RUN_ID"):
        return f"github-{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    for name, prefix in (
        ("CI_PIPELINE_ID", "gitlab"),
        ("CIRCLE_WORKFLOW_ID", "circleci"),
        ("BUILDKITE_BUILD_ID", "buildkite"),
    ):
        if env.get(name):
            return f"{prefix}-{env[name]}"
    return None


def run_id_from_revision(revision: tuple[str, str] | None) -> str | None:
    """An id every shard run on one checkout agrees on: its commit, plus a digest of its
    uncommitted changes when there are some; None outside git."""
    if revision is None:
        return None
    commit, tree = revision
    _, _, changes = tree.partition("+")
    return f"git-{commit[:12]}" + (f"-{changes}" if changes else "")
