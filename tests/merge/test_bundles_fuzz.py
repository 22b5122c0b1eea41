"""Fuzzing ``fastci merge`` with tampered copies of real bundles: never a crash, always a verdict.

Each example copies the bundles of a real 3-shard ``fastci run --results`` (made once per
session), damages them in one to three places (a value swapped for a hostile one, a key or
line dropped, a line that is not an object, a file cut short or removed) and merges them in
this process. CI runs FUZZ_EXAMPLES examples; FASTCI_FUZZ_EXAMPLES=2000 runs a longer search.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fastci.cli import main
from fastci.errors import ExitCode
from tests.helpers.shop import ShardedRun

FUZZ_EXAMPLES = int(os.environ.get("FASTCI_FUZZ_EXAMPLES", "60"))
FILES = ("manifest.json", "results.jsonl", "timings.jsonl")
VERDICTS = {
    ExitCode.OK,
    ExitCode.TESTS_FAILED,
    ExitCode.COVERAGE_UNDER_THRESHOLD,
    ExitCode.RESULTS_INCOMPLETE,
}
HOSTILE = st.one_of(
    # extremes that are still valid, so that they reach the JUnit, the timeline and the report
    st.sampled_from([0, 0.0, 5e-324, 1e7, 9_999_999.999, 1e11, 1, 2**31 - 1, "x" * 300]),
    st.sampled_from(
        [1e308, -1e308, math.inf, -math.inf, math.nan, -15074.997, 0, -1, 10**30, 2**63]
    ),
    st.sampled_from([True, False, None, "", "passed", "crashed", "../..", [], {}, [None]]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=6,
    ),
)


def _documents(path: Path) -> list[Any]:
    text = path.read_text()
    if path.suffix == ".json":
        return [json.loads(text)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _write(path: Path, documents: list[Any]) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(documents[0]))
    else:
        path.write_text("".join(json.dumps(d) + "\n" for d in documents))


def _damage_a_value(data: st.DataObject, documents: list[Any]) -> None:
    """Walk into one document to a random place; set, drop or replace what is there."""
    index = data.draw(st.integers(0, len(documents) - 1))
    parent: Any = documents
    key: Any = index
    while isinstance(parent[key], dict | list) and parent[key] and data.draw(st.booleans()):
        parent = parent[key]
        key = data.draw(
            st.sampled_from(sorted(parent) if isinstance(parent, dict) else range(len(parent)))
        )
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[key]
    else:
        parent[key] = data.draw(HOSTILE)


def _damage(data: st.DataObject, bundle: Path) -> None:
    path = bundle / data.draw(st.sampled_from(FILES))
    if not path.exists():
        return
    how = data.draw(st.sampled_from(["value", "value", "value", "garbage", "cut", "remove"]))
    if how == "remove":
        path.unlink()
    elif how == "cut":
        text = path.read_bytes()
        path.write_bytes(text[: data.draw(st.integers(0, max(0, len(text) - 1)))])
    elif how == "garbage":
        with path.open("a") as f:
            f.write(data.draw(st.sampled_from(["[1, 2]\n", "null\n", "{]\n", "[" * 5000 + "\n"])))
    else:
        try:
            documents = _documents(path)
        except (ValueError, RecursionError):
            return  # damaged already by an earlier step
        if documents:
            _damage_a_value(data, documents)
            _write(path, documents)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_merge_of_tampered_real_bundles_never_crashes(
    three_shards: ShardedRun, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory(prefix="fastci-fuzz-") as scratch:
        artifacts = Path(scratch) / "artifacts"
        shutil.copytree(three_shards.results, artifacts)
        for _ in range(data.draw(st.integers(1, 3), label="damages")):
            _damage(data, artifacts / data.draw(st.sampled_from(sorted(os.listdir(artifacts)))))
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = main(
                [
                    "merge",
                    str(artifacts),
                    "--root",
                    str(three_shards.root),
                    "--no-store",
                    "--cov-report",
                    "term",
                    "--output",
                    str(Path(scratch) / "merged"),
                ]
            )
        said = out.getvalue()
        event(f"exit {code}")  # --hypothesis-show-statistics shows how often each came
        assert code in VERDICTS, said
        assert "Traceback" not in said
        assert "internal error" not in said
        assert said.rstrip().splitlines()[-1].startswith("=")  # the verdict line closes it
