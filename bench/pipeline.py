"""The CI critical path of a real web backend, three ways: naive, hand-assembled, fastci.

    python bench/pipeline.py [--runs 3] [--work bench/.work/pipeline]

The project is FastAPI's sdist from PyPI: its own test suite (about 5,000 tests) with its
own test dependency set (Starlette, Pydantic, SQLModel, Strawberry, Flask, OpenTelemetry,
Sentry, Logfire…, pinned once by resolving, then reused). Each CI job runs here as it would
on its own fresh runner: a new virtualenv, its caches restored from an archive (as
``actions/cache`` restores them), then its steps. Jobs run one after another; a pipeline's
critical path is the sum of its sequential stages, each stage as long as its slowest job:

- naive: one job: ``pip install -r requirements.txt -e .`` with no cache, then ``pytest``;
- hand-assembled (what fastci replaces): 4 jobs, each restoring a wheel cache (a wheel of
  every pinned package, built once by ``pip wheel``), installing from it with
  ``pip install --no-index --find-links``, then ``pytest --splits 4 --group K -n 2``
  (pytest-split with pytest-xdist) from a durations file recorded beforehand;
- fastci, the generated workflow's steps: a gate job (``fastci gate``), 4 shard jobs (restore
  the wheelhouse, ``fastci deps install --project``, ``fastci run --shard K/4``), and a merge
  job (``fastci merge``). Each job sets up uv (its binary unpacked from uv's wheel, as
  ``astral-sh/setup-uv`` unpacks its download) and installs fastci with ``uv pip install``
  from a local wheel directory (standing for PyPI), as the generated workflow does.

Every job's environment is this one without pip, uv or fastci settings, and without
``PYTHONDONTWRITEBYTECODE``, which CI runners leave unset: Python caches bytecode as it
imports, as it would on a runner.

Untimed, before the rounds: the set is resolved, the wheel cache built and archived, the
wheelhouse built and archived, and both tools' timings recorded by one full run each. The
rounds take turns (naive, hand-assembled, fastci; the order rotates) so a busy moment of a
shared machine hits all of them alike. Every run must pass with the same test count, or the
benchmark stops. Figures: medians of the critical paths and their ratios.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path(__file__).resolve().parent / ".work" / "pipeline"
PROJECT = "fastapi==0.165.0"
SHARDS = 4
# Everything FastAPI's extras and its own "tests" dependency group ask for (the group as its
# pyproject.toml writes it), plus the two tools the hand-assembled pipeline adds. fastci
# installs the same set from pyproject.toml (extras and the tests group: `--groups tests`)
# and requirements.txt, the pinned resolution of this list.
TEST_REQUIREMENTS = """\
fastapi[all,standard,opentelemetry]==0.165.0
opentelemetry-instrumentation-fastapi>=0.65b0
logfire>=5.1.0
sentry-sdk>=2.70.0
httpx>=0.23.0,<1.0.0
httpx2>=2.0.0
python-slugify>=8.0.4
ruff>=0.14.14,<0.17.0
anyio[trio]>=4.1.0,<5.0.0
coverage[toml]>=7.13,<8.0
dirty-equals>=0.9.0
flask>=3.0.0,<4.0.0
inline-snapshot>=0.21.1
mypy>=1.14.1
pwdlib[argon2]>=0.2.1
pyjwt>=2.9.0
pytest>=9.0.0,<9.2
pytest-codspeed>=4.3.0
pyyaml>=5.3.1,<7.0.0
sqlmodel>=0.0.31
strawberry-graphql>=0.200.0,<1.0.0
ty>=0.0.25
typer>=0.26.1
a2wsgi>=1.9.0,<=2.0.0
pytest-xdist[psutil]>=3.0.2
pytest-cov>=4.0.0
pytest-sugar>=1.0.0
pytest-timeout>=2.4.0
pytest-split
"""
DEPS_GROUPS = ("--groups", "tests")
BUILD_BACKEND = "pdm-backend"  # FastAPI's, from its pyproject.toml
WAYS = ("naive", "hand-assembled", "fastci")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without pip/uv configuration or an active virtualenv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "FASTCI_"))}
    env.pop("VIRTUAL_ENV", None)
    # A CI runner writes bytecode as Python does by default; this machine sets the variable.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env.update(extra)
    return env


def run(
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    ok: Sequence[int] = (0,),
) -> tuple[float, str]:
    """Wall seconds and output of one command; an exit code not in ``ok`` stops the run."""
    started = time.perf_counter()
    proc = subprocess.run(
        list(command), cwd=cwd, env=env or clean_env(), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in ok:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        sys.exit(f"failed ({proc.returncode}): {' '.join(command)}\n{tail}")
    return seconds, proc.stdout + proc.stderr


class Laps:
    """Each step's seconds within one job, printed as one line: where its time goes."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.last = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.steps.append((step, now - self.last))
        self.last = now

    def total(self) -> float:
        print(f"    {self.job}: " + ", ".join(f"{n} {s:.1f}s" for n, s in self.steps), flush=True)
        return sum(s for _, s in self.steps)


def extract(archive: Path, into: Path) -> float:
    """Seconds to restore a cache archive into a fresh directory, as a cache action does."""
    started = time.perf_counter()
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return time.perf_counter() - started


def archive(source: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        tar.add(source, arcname=".")


OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "errors")


def tests_counted(output: str) -> int:
    """Tests in the last summary line (every outcome, warnings and deselected not counted)."""
    for line in reversed(output.splitlines()):
        if " passed" in line:
            words = line.replace(",", " ").split()
            return sum(
                int(count)
                for count, word in itertools.pairwise(words)
                if count.isdigit() and word in OUTCOMES
            )
    sys.exit(f"no summary line in:\n{output[-2000:]}")


class Bench:
    def __init__(self, work: Path, python: str) -> None:
        self.work = work
        self.python = python
        self.project = work / "project"
        self.dist = work / "dist"  # fastci's wheel and its dependencies, for every job
        self.wheel_cache_archive = work / "wheel-cache.tar.gz"
        self.wheelhouse_archive = work / "wheelhouse.tar.gz"
        self.store = work / "timings.db"
        self.durations = work / "test_durations.json"
        self.jobs = work / "jobs"

    # -- untimed preparation -------------------------------------------------------------

    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        if not self.project.exists():
            self.fetch_project()
        self.dist.mkdir(exist_ok=True)
        wheel = [self.python, "-m", "pip", "wheel", "-q", "-w", str(self.dist)]
        if not any(self.dist.glob("uv-*.whl")):
            run([*wheel, f"{REPO}[deps]"], REPO)
        for old in self.dist.glob("fastci-*.whl"):  # this checkout's fastci, every time
            old.unlink()
        run([*wheel, "--no-deps", str(REPO)], REPO)
        env = self.venv(self.work / "warm", fresh=True)
        wheels = self.work / "wheel-cache"
        shutil.rmtree(wheels, ignore_errors=True)
        pip = [str(env / "bin" / "python"), "-m", "pip"]
        # The hand-assembled pipeline's cache: a wheel of every pinned package, plus the
        # project's build backend so the editable install needs no index either.
        run([*pip, "wheel", "-q", "-w", str(wheels), "-r", "requirements.txt", BUILD_BACKEND],
            self.project)  # fmt: skip
        archive(wheels, self.wheel_cache_archive)
        run([*pip, "install", "-q", "-r", "requirements.txt", "-e", "."], self.project)
        run([*pip, "install", "-q", "--find-links", str(self.dist), "fastci[deps]"], self.project)
        run([*pip, "install", "-q", "--force-reinstall", "--no-deps", *self.fastci_wheel()],
            self.project)  # fmt: skip
        self.build_wheelhouse(env)
        self.record(env)

    def fetch_project(self) -> None:
        sdist = self.work / "sdist"
        run(
            [
                self.python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                ":all:", "-d", str(sdist), PROJECT,
            ],
            self.work,
        )  # fmt: skip
        (archive_path,) = sdist.glob("*.tar.gz")
        with tarfile.open(archive_path) as tar:
            tar.extractall(sdist, filter="data")
        (unpacked,) = (p for p in sdist.iterdir() if p.is_dir())
        unpacked.rename(self.project)
        resolver = self.venv(self.work / "resolve", fresh=True)
        (self.project / "requirements.in").write_text(TEST_REQUIREMENTS)
        run([str(resolver / "bin" / "pip"), "install", "-q", "-r", "requirements.in"], self.project)
        _, frozen = run(
            [str(resolver / "bin" / "pip"), "freeze", "--exclude", "fastapi"], self.work
        )
        (self.project / "requirements.in").unlink()
        (self.project / "requirements.txt").write_text(frozen)
        for command in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "-A"],
            ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "import"],
        ):
            run(command, self.project)

    def fastci_wheel(self) -> list[str]:
        return [str(p) for p in self.dist.glob("fastci-*.whl")]

    def venv(self, path: Path, fresh: bool) -> Path:
        if fresh:
            shutil.rmtree(path, ignore_errors=True)
        if not (path / "bin" / "python").exists():
            run([self.python, "-m", "venv", str(path)], self.work)
        return path

    def build_wheelhouse(self, env: Path) -> None:
        wheels = self.project / ".cache" / "wheels"
        shutil.rmtree(wheels, ignore_errors=True)
        fastci = str(env / "bin" / "fastci")
        run([fastci, "deps", "build", *DEPS_GROUPS], self.project, clean_env(VIRTUAL_ENV=str(env)))
        archive(wheels, self.wheelhouse_archive)
        shutil.rmtree(wheels)

    def record(self, env: Path) -> None:
        """One full run of each tool, so both plan shards from the same kind of history."""
        self.store.unlink(missing_ok=True)
        fastci = str(env / "bin" / "fastci")
        run([fastci, "run", "-q", "--store", str(self.store)], self.project)
        python = str(env / "bin" / "python")
        run(
            [python, "-m", "pytest", "-q", "--store-durations", "--durations-path",
             str(self.durations)],
            self.project,
        )  # fmt: skip

    # -- the three pipelines, timed ------------------------------------------------------

    def naive(self) -> tuple[float, int]:
        started = time.perf_counter()  # the job's fresh virtualenv counts, as in the others
        env = self.venv(self.jobs / "naive", fresh=True)
        created = time.perf_counter() - started
        pip = [str(env / "bin" / "pip"), "install", "-q", "--no-cache-dir"]
        installed, _ = run([*pip, "-r", "requirements.txt", "-e", "."], self.project)
        tested, output = run([str(env / "bin" / "python"), "-m", "pytest", "-q"], self.project)
        return created + installed + tested, tests_counted(output)

    def hand_assembled(self) -> tuple[float, int]:
        jobs: list[float] = []
        counted = 0
        for group in range(1, SHARDS + 1):
            lap = Laps(f"split {group}")
            env = self.venv(self.jobs / f"split-{group}", fresh=True)
            lap("venv")
            cache = self.jobs / f"wheel-cache-{group}"
            extract(self.wheel_cache_archive, cache)
            lap("restore wheel cache")
            pip = [
                str(env / "bin" / "pip"),
                "install",
                "-q",
                "--no-index",
                "--find-links",
                str(cache),
            ]
            run([*pip, "-r", "requirements.txt", "-e", "."], self.project)
            lap("pip install")
            _, output = run(
                [
                    str(env / "bin" / "python"), "-m", "pytest", "-q", "-n", "2",
                    "--splits", str(SHARDS), "--group", str(group),
                    "--durations-path", str(self.durations),
                ],
                self.project,
            )  # fmt: skip
            lap("pytest --splits 4 -n 2")
            jobs.append(lap.total())
            counted += tests_counted(output)
        return max(jobs), counted

    def install_fastci(self, env: Path, extra: str = "") -> None:
        """The workflow's "Set up uv" (here: uv's binary taken out of its wheel, as
        astral-sh/setup-uv unpacks its download) and "Install fastci" (uv pip install)."""
        (uv_wheel,) = self.dist.glob("uv-*.whl")
        with zipfile.ZipFile(uv_wheel) as wheel:
            (member,) = (n for n in wheel.namelist() if n.endswith("/scripts/uv"))
            uv = env / "bin" / "uv"
            uv.write_bytes(wheel.read(member))
        uv.chmod(0o755)
        cache = env / "uv-cache"  # a fresh runner's: empty
        install = [str(uv), "pip", "install", "-q", "--python", str(env / "bin" / "python")]
        run([*install, "--no-index", "--find-links", str(self.dist), f"fastci{extra}"],
            self.project, clean_env(UV_CACHE_DIR=str(cache)))  # fmt: skip

    def fastci(self) -> tuple[float, int]:
        results = self.jobs / "fastci-results"
        shutil.rmtree(results, ignore_errors=True)
        lap = Laps("gate")
        gate_env = self.venv(self.jobs / "gate", fresh=True)
        lap("venv")
        self.install_fastci(gate_env)
        lap("install fastci")
        run([str(gate_env / "bin" / "fastci"), "gate"], self.project, ok=(0, 9))
        lap("fastci gate")
        gate = lap.total()
        shards = [self.fastci_shard(k, results) for k in range(1, SHARDS + 1)]
        lap = Laps("merge")
        merge_env = self.venv(self.jobs / "merge", fresh=True)
        lap("venv")
        self.install_fastci(merge_env)
        lap("install fastci")
        store = self.jobs / "merge-timings.db"
        shutil.copy(self.store, store)
        _, output = run(
            [
                str(merge_env / "bin" / "fastci"), "merge", "--expect-shards", str(SHARDS),
                "--store", str(store), "--output", str(self.jobs / "merged"), str(results),
            ],
            self.project,
        )  # fmt: skip
        lap("fastci merge")
        return gate + max(shards) + lap.total(), tests_counted(output)

    def fastci_shard(self, shard: int, results: Path) -> float:
        lap = Laps(f"shard {shard}")
        env = self.venv(self.jobs / f"fastci-{shard}", fresh=True)
        lap("venv")
        self.install_fastci(env, "[deps]")
        lap("install fastci")
        job_env = clean_env(VIRTUAL_ENV=str(env))
        fastci = str(env / "bin" / "fastci")
        extract(self.wheelhouse_archive, self.project / ".cache" / "wheels")
        lap("restore wheelhouse")
        run([fastci, "deps", "install", "--project", *DEPS_GROUPS], self.project, job_env)
        lap("deps install")
        store = self.jobs / f"timings-{shard}.db"
        shutil.copy(self.store, store)
        run(
            [
                fastci, "run", "-q", "--shard", f"{shard}/{SHARDS}", "--store", str(store),
                "--results", str(results / str(shard)),
            ],
            self.project,
            job_env,
        )  # fmt: skip
        lap("fastci run")
        return lap.total()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the work directory")
    args = parser.parse_args()
    bench = Bench(args.work.resolve(), sys.executable)
    if not args.skip_prepare:
        bench.prepare()
    ways = {"naive": bench.naive, "hand-assembled": bench.hand_assembled, "fastci": bench.fastci}
    chosen = tuple(way for way in WAYS if way in args.ways)
    times: dict[str, list[float]] = {way: [] for way in chosen}
    counts: dict[str, set[int]] = {way: set() for way in chosen}
    for round_number in range(args.runs):
        turn = round_number % len(chosen)
        for way in chosen[turn:] + chosen[:turn]:
            seconds, counted = ways[way]()
            times[way].append(seconds)
            counts[way].add(counted)
            print(
                f"round {round_number + 1}: {way:15} {seconds:7.1f}s  {counted} tests", flush=True
            )
    report(times, counts)
    (args.work / "results.json").write_text(json.dumps(times, indent=1))


def report(times: dict[str, list[float]], counts: dict[str, set[int]]) -> None:
    """Medians, ratios to fastci, and any way that counted a different number of tests."""
    medians = {way: statistics.median(values) for way, values in times.items()}
    runs = min(len(values) for values in times.values())
    print(f"\n| way | tests | critical path, median of {runs} | over fastci |")
    print("| --- | --- | --- | --- |")
    for way, median in medians.items():
        ratio = f"{median / medians['fastci']:.2f}x" if "fastci" in medians else "-"
        tests = ", ".join(str(count) for count in sorted(counts[way]))
        print(f"| {way} | {tests} | {median:.1f} s | {ratio} |")
    if len(set().union(*counts.values())) > 1:
        print("note: the ways counted different numbers of tests (see the tests column)")


if __name__ == "__main__":
    main()
