"""How a generated workflow's test jobs use fastci affected: record where the store is saved,
run only the affected tests where the mode says (docs/affected.md)."""

from __future__ import annotations

# pull-requests: the default branch runs everything and records; other runs use --affected.
# always: every run uses --affected (the default branch records too). never: all run all.
AFFECTED_MODES = ("pull-requests", "always", "never")
DEFAULT_MODE = "pull-requests"
# True in a job whose results the next runs plan and select from (a push to the default branch).
GITHUB_TRUSTED = '[ "$FASTCI_TRUSTED" = true ]'
GITLAB_TRUSTED = '[ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]'


def shard_command(command: str, mode: str, trusted: str) -> str:
    """``command`` (a shard's fastci run) as one shell line for the given mode."""
    recording = f"{command} --record-deps" + (" --affected" if mode == "always" else "")
    other = command if mode == "never" else f"{command} --affected"
    return f"if {trusted}; then {recording}; else {other}; fi"
