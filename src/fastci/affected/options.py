"""The command-line options fastci affected shares with fastci run, without loading it."""

from __future__ import annotations

import argparse


def add_base_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="REF",
        help="compare with the data recorded at this commit (default: the newest recorded "
        "ancestor of HEAD)",
    )
