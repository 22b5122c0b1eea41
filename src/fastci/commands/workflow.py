"""``fastci workflow github|gitlab``: write the project's CI pipeline file."""

from __future__ import annotations

import argparse
import sys

from fastci.ci.affected import AFFECTED_MODES, DEFAULT_MODE
from fastci.config import (
    add_root_argument,
    add_setting_arguments,
    argparse_type,
    load_config,
)
from fastci.errors import ExitCode, UsageError
from fastci.settings import SETTINGS_BY_KEY, shard_count

NAME = "workflow"
# Settings a workflow depends on that may be given as flags; the file's header repeats them.
SETTINGS = ("changes.default-branch", "gate.include", "gate.extend-include", "gate.exclude")
HELP = "write the CI workflow: .github/workflows/ci.yml (github) or .gitlab-ci.yml (gitlab)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fastci.ci.workflow import percentage, python_version

    providers = parser.add_subparsers(dest="provider", metavar="PROVIDER", required=True)
    for provider, help_text in (
        ("github", "write .github/workflows/ci.yml for GitHub Actions"),
        ("gitlab", "write .gitlab-ci.yml for GitLab CI/CD"),
    ):
        sub = providers.add_parser(provider, help=help_text, description=help_text)
        add_root_argument(sub, nested=True)  # also after it: fastci workflow github --root DIR
        sub.add_argument(
            "--shards",
            type=argparse_type(shard_count),
            metavar="N",
            help="test shards (default: [tool.fastci] shards if set, else 4)",
        )
        sub.add_argument(
            "--python",
            dest="pythons",
            action="extend",
            nargs="+",
            default=[],
            type=argparse_type(python_version),
            metavar="VERSION",
            help="Python versions to test on, the first also for lint and merge (default: 3.12)",
        )
        sub.add_argument(
            "--fastci-spec",
            default="fastci",
            metavar="SPEC",
            help="what CI installs with pip as fastci (default: fastci), e.g. fastci==0.1.0",
        )
        sub.add_argument(
            "--lint",
            default="auto",
            metavar="TOOLS",
            help="'auto' (ruff, and mypy when the project configures it), 'none', or a list "
            "such as ruff,mypy",
        )
        sub.add_argument(
            "--fail-under",
            type=argparse_type(percentage),
            metavar="PCT",
            help="fail the merge when total coverage is below PCT percent",
        )
        if provider == "github":
            sub.add_argument(
                "--pin-sha",
                action="store_true",
                help="pin each action to a full commit id instead of its major version tag",
            )
        sub.add_argument(
            "--queue",
            action="store_true",
            help="runners take units from a shared Redis queue whose URL is the "
            "FASTCI_QUEUE_URL secret, instead of fixed shards (docs/queue.md)",
        )
        sub.add_argument(
            "--affected",
            choices=AFFECTED_MODES,
            default=DEFAULT_MODE,
            help="where the test jobs run only the tests a change can affect (fastci run "
            "--affected, with the dependencies the default branch records): on pull "
            "requests (the default), always, or never",
        )
        add_setting_arguments(sub, *SETTINGS)
        output = sub.add_mutually_exclusive_group()
        output.add_argument(
            "--force", action="store_true", help="overwrite the file even if edited by hand"
        )
        output.add_argument(
            "--stdout", action="store_true", help="print the workflow instead of writing it"
        )


def run(args: argparse.Namespace) -> int:
    from fastci.changes import git
    from fastci.ci import github, gitlab
    from fastci.ci.workflow import WorkflowFlags, options_for_project, write_workflow

    config = load_config(args)
    repo = git.toplevel(config.root)
    if repo is not None and repo != config.root.resolve():
        raise UsageError(
            f"the project root {config.root} is not the root of its git repository ({repo}); "
            "fastci workflow writes pipelines for projects at a repository's root"
        )
    flags = WorkflowFlags(
        provider=args.provider,
        shards=args.shards,
        pythons=tuple(args.pythons),
        fastci_spec=args.fastci_spec,
        lint=args.lint,
        fail_under=args.fail_under,
        pin_sha=getattr(args, "pin_sha", False),
        queue=args.queue,
        affected=args.affected,
        settings=_given_settings(args),
    )
    options = options_for_project(config, flags)
    writer = github if args.provider == "github" else gitlab
    text = writer.render(options)
    if args.stdout:
        sys.stdout.write(text)
        return ExitCode.OK
    path = config.root / writer.WORKFLOW_PATH
    result = write_workflow(path, text, force=args.force)
    if result.diff:
        sys.stdout.write(result.diff)
    if result.status == "refused":
        raise UsageError(
            f"{path} has been edited by hand (the difference is above); "
            "rerun with --force to replace it, or copy the parts you want"
        )
    print(f"{result.status} {path}")
    return ExitCode.OK


def _given_settings(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The setting flags given on the command line, as (flag, value) to repeat them."""
    given = []
    for key in SETTINGS:
        setting = SETTINGS_BY_KEY[key]
        value = getattr(args, setting.field, None)
        if value is not None:
            given.append((setting.flag, value if isinstance(value, str) else ",".join(value)))
    return tuple(given)
