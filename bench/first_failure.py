"""Time to the first failure with ``-x``: ``fastci run -j 2 -x`` beside ``pytest -n 2 -x``.

One failing test is appended to the last test file (by name) of SymPy's core tests, the file
pytest reaches last. Each command is timed from its start until it exits, stopped by that
failure. fastci runs in two states of its timings store:

- after a failing run: the store's newest run holds the failure (as on the second push of a
  broken change), so that file's unit starts first;
- store from before the failure: a full passing run recorded before the failure was
  injected, restored before every repeat; the edited file is newer than that run, so it
  starts first as a changed file.

pytest has no store (``-p no:cacheprovider``, as in every benchmark here). The injected
file is put back as it was at the end, even after an error.

    python bench/first_failure.py [--repeats 3] [--tests core/tests] [--work DIR]

``--tests`` picks another of SymPy's test directories (a smaller one for a quick check).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from suite import installed_suite, median

INJECTED = "test_fastci_bench_injected_failure"
FAILURE = f"\n\ndef {INJECTED}():\n    assert 1 == 2, 'injected by bench/first_failure.py'\n"
BEFORE = "fastci, store before the failure"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "fastci-bench-first"


def until_failure(command: Sequence[str], cwd: Path) -> float:
    """Wall seconds until the command exits, stopped by the injected failure (exit code 1;
    2 for pytest-xdist, which reports its stop as an interruption)."""
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    if proc.returncode not in (1, 2) or INJECTED not in output:
        tail = "\n".join(output.splitlines()[-15:])
        raise SystemExit(f"expected the injected failure ({proc.returncode}): {command}\n{tail}")
    return seconds


@contextmanager
def injected(test_file: Path) -> Iterator[Callable[[], None]]:
    """Inside: a function that (re)writes the failure into the file; after: the file as it was."""
    original = test_file.read_bytes()

    def inject() -> None:
        test_file.write_bytes(original + FAILURE.encode())
        stamp = time.time()
        os.utime(test_file, (stamp, stamp))

    try:
        yield inject
    finally:
        test_file.write_bytes(original)


def main() -> None:
    suite, args = installed_suite(__doc__, DEFAULT_WORK)
    late = sorted((suite.root / suite.tests).glob("test_*.py"))[-1]
    print(f"injecting one failure into {late.relative_to(suite.root)}", flush=True)
    suite.record()  # every file passes: the store from before the failure
    clean_store = args.work / "timings-before-failure.db"
    shutil.copyfile(suite.store, clean_store)
    fastci = suite.fastci("-j", "2", "-x")
    commands = {
        "pytest -n 2 -x": suite.pytest("-n", "2", "-x"),
        BEFORE: fastci,
        "fastci, after a failing run": fastci,  # the run before it recorded the failure
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with injected(late) as inject:
        inject()
        for repeat in range(args.repeats):
            for name, command in commands.items():
                if name == BEFORE:
                    shutil.copyfile(clean_store, suite.store)  # its newest run passed
                    inject()  # edited after that run, as a change would be
                times[name].append(until_failure(command, suite.root))
            print(
                f"repeat {repeat + 1}: " + ", ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items()),
                flush=True,
            )
    medians = {name: median(t) for name, t in times.items()}
    print("medians: " + ", ".join(f"{n} {m:.1f}s" for n, m in medians.items()))
    for name in list(commands)[1:]:
        ratio = medians[name] / medians["pytest -n 2 -x"]
        print(f"ratio {name} / pytest -n 2 -x = {ratio:.2f} (target <= 1.00)")


if __name__ == "__main__":
    main()
