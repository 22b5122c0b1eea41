"""The GitHub Actions steps fastci's workflow is made of: checkout, setup, wheelhouse, caches."""

from __future__ import annotations

from fastci.ci.quoting import scalar
from fastci.ci.workflow import (
    DEPS_BUILD,
    DEPS_INSTALL,
    DEPS_PRUNE,
    UV_INSTALL_FASTCI,
    UV_INSTALL_FASTCI_DEPS,
    Value,
    WorkflowOptions,
    block,
    comment,
)

# Each action at the major version fastci was tested with, and the commit that version's
# release tag pointed at, for --pin-sha (a tag can be moved; a commit id cannot).
ACTIONS: dict[str, tuple[str, str, str]] = {
    "actions/checkout": ("v7", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("v7", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("v5", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "actions/upload-artifact": ("v7", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("v8", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    # Its last major-version tag: later releases are published as full versions only.
    "astral-sh/setup-uv": ("v7", "37802adc94f370d6bfd71619e3f0bf239e1f3b78", "v7.6.0"),
}
STEP = 6  # indentation of a step's "- name:"
Pairs = tuple[tuple[str, Value], ...]


def uses(action: str, options: WorkflowOptions) -> str:
    """``owner/repo[/path]@ref`` for one of ACTIONS (a sub-action like actions/cache/save too)."""
    repository = "/".join(action.split("/")[:2])
    major, sha, version = ACTIONS[repository]
    return f"{action}@{sha} # {version}" if options.pin_sha else f"{action}@{major}"


def step(  # noqa: PLR0913 - a step's optional keys of GitHub's step syntax, keyword-only
    name: str,
    *,
    uses_: str | None = None,
    run: str | None = None,
    id_: str | None = None,
    if_: str | None = None,
    with_: Pairs = (),
    env: Pairs = (),
    why: str | None = None,
) -> list[str]:
    """One step as YAML lines; ``run`` scripts never contain ${{ }}: values come via ``env``."""
    if run is not None and "${{" in run:
        raise ValueError(f"step {name!r}: expressions reach scripts through env only")
    pad = " " * STEP
    lines = comment(why, STEP) if why else []
    lines.append(f"{pad}- name: {scalar(name)}")
    if id_:
        lines.append(f"{pad}  id: {id_}")
    if if_:
        lines.append(f"{pad}  if: {scalar(if_)}")
    if uses_:
        lines.append(f"{pad}  uses: {uses_}")
    for key, values in (("with", with_), ("env", env)):
        if values:
            lines.append(f"{pad}  {key}:")
            for k, v in values:
                lines += block(k, v, STEP + 4)
    if run:
        lines += block("run", run, STEP + 2)
    return lines


def checkout(options: WorkflowOptions, keep_credentials: bool = False) -> list[str]:
    return step(
        "Check out (shallow)",
        uses_=uses("actions/checkout", options),
        with_=(("fetch-depth", 1), ("persist-credentials", keep_credentials)),
        why="fastci changes fetches just enough history to find the merge base, so this "
        "job\nkeeps the checkout's credentials; no other job does."
        if keep_credentials
        else None,
    )


def setup(options: WorkflowOptions, python: str, deps: bool = False) -> list[str]:
    """Set up ``python`` and uv, and install fastci (fastci[deps] when the job runs fastci
    deps) with uv into that Python."""
    return [
        *step(
            "Set up Python",
            uses_=uses("actions/setup-python", options),
            with_=(("python-version", python),),
        ),
        *step(
            "Set up uv",
            uses_=uses("astral-sh/setup-uv", options),
            with_=(("enable-cache", False),),
            why="uv installs fastci in a fraction of pip's time; its own cache is off, since\n"
            "fastci's wheelhouse is what caches the project's dependencies.",
        ),
        *step(
            "Install fastci[deps]" if deps else "Install fastci",
            run=UV_INSTALL_FASTCI_DEPS if deps else UV_INSTALL_FASTCI,
        ),
    ]


def wheelhouse(options: WorkflowOptions, save_if: str | None) -> list[str]:
    """Restore the wheelhouse by its key, build it on a miss, install offline from it.

    On a miss the newest wheelhouse for the same Python and platform is restored instead
    (restore-keys): the build reuses its wheels and says which inputs changed.
    """
    key = "fastci-wheels-${{ steps.deps.outputs.key }}"
    missed = "steps.wheelhouse.outputs.cache-hit != 'true'"
    lines = [
        *step(
            "Compute the wheelhouse key",
            id_="deps",
            run='key="$(fastci deps key)"\necho "key=$key" >> "$GITHUB_OUTPUT"\n'
            'echo "family=${key%-*}-" >> "$GITHUB_OUTPUT"',
        ),
        *step(
            "Restore the wheelhouse",
            id_="wheelhouse",
            uses_=uses("actions/cache/restore", options),
            with_=(
                ("path", options.wheelhouse),
                ("key", key),
                ("restore-keys", "fastci-wheels-${{ steps.deps.outputs.family }}"),
            ),
        ),
        *step("Build the wheelhouse", if_=missed, run=DEPS_BUILD),
    ]
    if save_if is not None:
        lines += step(
            "Keep only the current wheelhouse",
            if_=f"{missed} && {save_if}",
            run=DEPS_PRUNE,
            why="Only the current wheelhouse is saved: the one restored for an older key goes.",
        )
        lines += step(
            "Save the wheelhouse",
            if_=f"{missed} && {save_if}",
            uses_=uses("actions/cache/save", options),
            with_=(("path", options.wheelhouse), ("key", key)),
            why="One job per Python version saves it, and only on the default branch: matrix "
            "jobs\nsaving one key would collide, and pull requests must not write it.",
        )
    lines += step("Install the dependencies from the wheelhouse, and the project", run=DEPS_INSTALL)
    return lines


def restore_timings(options: WorkflowOptions) -> list[str]:
    return step(
        "Restore the timings store",
        if_="needs.changes.outputs.timings-key != ''",
        uses_=uses("actions/cache/restore", options),
        with_=(
            ("path", options.store),
            ("key", "${{ needs.changes.outputs.timings-key }}"),
            ("fail-on-cache-miss", True),
        ),
        why="The exact entry the changes job found: every shard must plan from the same\n"
        "store, or shards would disagree on which tests are theirs.",
    )
