"""Benchmark: installing a backend's dependency set into a fresh virtualenv, four ways.

    python bench/deps_install.py --runs 5

Side by side, in rounds (one run of each way per round, so a busy moment of a shared machine
hits all of them alike), every run into a new virtualenv:

- pip, cold: ``pip install -r requirements.txt`` with an empty pip cache;
- pip, warm: the same with pip's cache filled by an earlier (untimed) run;
- uv, warm: ``uv pip install -r requirements.txt`` with uv's cache filled;
- fastci: ``fastci deps install`` from a wheelhouse built once by ``fastci deps build``, with
  an empty uv cache: a fresh CI machine that restored only the wheelhouse;
- fastci, warm uv cache: the same on a machine whose uv cache already holds the wheels;
- as a CI job pays it, the cache restore counted: uv with its cache extracted from a
  zstd tarball (what actions/cache does) just before, against fastci with the wheelhouse
  extracted the same way just before (and uv's cache empty).

Before every timed run the page cache's dirty data is flushed (sync), so one run's disk
writes do not land on the next.

Medians and ratios are printed as a Markdown table; every timing goes to
bench/.work/deps/results.json. The set is pinned (resolved once, then reused) so every way
installs the same versions. pip and uv run with their configuration files ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work" / "deps"
# A typical backend: web framework and server, database, cache, queue, data, tests, lint.
TOP_LEVEL = """\
fastapi
uvicorn[standard]
sqlalchemy
alembic
psycopg[binary]
pydantic
pydantic-settings
httpx
redis
celery
pandas
numpy
pytest
pytest-cov
mypy
ruff
python-dotenv
structlog
orjson
"""
SCENARIOS = (
    "pip-cold",
    "pip-warm",
    "uv-warm",
    "fastci",
    "fastci-warm-uv",
    "uv-warm+restore",
    "fastci+restore",
)
ZSTD = "zstd -T0"  # as actions/cache compresses


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without pip/uv configuration, so only the defaults are measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    os.sync()
    started = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


class Bench:
    def __init__(self, python: str, uv: str, fastci: list[str]) -> None:
        self.python = python
        self.uv = uv
        self.fastci = fastci
        self.project = WORK / "project"
        self.requirements = self.project / "requirements.txt"
        self.pip_cache = WORK / "pip-cache"
        self.uv_cache = WORK / "uv-cache"
        self.fastci_uv_cache = WORK / "fastci-uv-cache"
        self.uv_archive = WORK / "uv-cache.tar.zst"
        self.wheelhouse_archive = WORK / "wheelhouse.tar.zst"
        self.restored = WORK / "restored-project"

    def venv(self, with_pip: bool) -> Path:
        path = Path(tempfile.mkdtemp(prefix="venv-", dir=WORK))
        if with_pip:
            run([self.python, "-m", "venv", str(path)], clean_env())
        else:
            run([self.uv, "venv", "--quiet", "--python", self.python, str(path)], clean_env())
        return path

    def prepare(self) -> None:
        """Pin the set, warm the pip and uv caches, build the wheelhouse: all untimed."""
        shutil.rmtree(WORK, ignore_errors=True)
        self.project.mkdir(parents=True)
        top = WORK / "top-level.txt"
        top.write_text(TOP_LEVEL, encoding="utf-8")
        env = clean_env(UV_CACHE_DIR=str(self.uv_cache))
        run([self.uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate",
             "--python", self.python, str(top), "-o", str(self.requirements)], env)  # fmt: skip
        (self.project / "pyproject.toml").write_text(
            '[project]\nname = "backend"\nversion = "1"\n', encoding="utf-8"
        )
        self.pip_warm(self.venv(with_pip=True))
        self.uv_warm(self.venv(with_pip=False))
        venv = self.venv(with_pip=False)
        run([*self.fastci, "deps", "build", "--python", str(venv / "bin" / "python")],
            clean_env(UV_CACHE_DIR=str(self.fastci_uv_cache)), cwd=self.project)  # fmt: skip
        self.fastci_warm_uv(self.venv(with_pip=False))
        tar = ["tar", "--use-compress-program", ZSTD, "-cf"]
        run([*tar, str(self.uv_archive), "-C", str(WORK), "uv-cache"], clean_env())
        run([*tar, str(self.wheelhouse_archive), "-C", str(self.project), ".cache"], clean_env())
        self.restored.mkdir()
        for name in ("requirements.txt", "pyproject.toml"):
            shutil.copy(self.project / name, self.restored / name)

    def pip_cold(self, venv: Path) -> float:
        cache = Path(tempfile.mkdtemp(prefix="pip-cold-", dir=WORK))
        try:
            return self._pip(venv, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def pip_warm(self, venv: Path) -> float:
        return self._pip(venv, self.pip_cache)

    def _pip(self, venv: Path, cache: Path) -> float:
        command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        return run([*command, "-r", str(self.requirements)], clean_env(PIP_CACHE_DIR=str(cache)))

    def uv_warm(self, venv: Path) -> float:
        command = [self.uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        env = clean_env(UV_CACHE_DIR=str(self.uv_cache))
        return run([*command, "-r", str(self.requirements)], env)

    def fastci_cold(self, venv: Path) -> float:
        cache = Path(tempfile.mkdtemp(prefix="uv-cold-", dir=WORK))
        try:
            return self._fastci(venv, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def fastci_warm_uv(self, venv: Path) -> float:
        return self._fastci(venv, self.fastci_uv_cache)

    def _fastci(self, venv: Path, uv_cache: Path) -> float:
        command = [*self.fastci, "deps", "install", "--python", str(venv / "bin" / "python")]
        return run(command, clean_env(UV_CACHE_DIR=str(uv_cache)), cwd=self.project)

    def uv_restored(self, venv: Path) -> float:
        target = Path(tempfile.mkdtemp(prefix="uv-restored-", dir=WORK))
        try:
            extract = ["tar", "--use-compress-program", "zstd -d", "-xf", str(self.uv_archive)]
            seconds = run([*extract, "-C", str(target)], clean_env())
            command = [
                self.uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
            ]
            env = clean_env(UV_CACHE_DIR=str(target / "uv-cache"))
            return seconds + run([*command, "-r", str(self.requirements)], env)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    def fastci_restored(self, venv: Path) -> float:
        cache = Path(tempfile.mkdtemp(prefix="uv-cold-", dir=WORK))
        try:
            extract = ["tar", "--use-compress-program", "zstd -d", "-xf"]
            seconds = run(
                [*extract, str(self.wheelhouse_archive), "-C", str(self.restored)], clean_env()
            )
            command = [*self.fastci, "deps", "install", "--python", str(venv / "bin" / "python")]
            env = clean_env(UV_CACHE_DIR=str(cache))
            return seconds + run(command, env, cwd=self.restored)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(self.restored / ".cache", ignore_errors=True)

    def scenario(self, name: str) -> tuple[Callable[[Path], float], bool]:
        return {
            "pip-cold": (self.pip_cold, True),
            "pip-warm": (self.pip_warm, True),
            "uv-warm": (self.uv_warm, False),
            "fastci": (self.fastci_cold, False),
            "fastci-warm-uv": (self.fastci_warm_uv, False),
            "uv-warm+restore": (self.uv_restored, False),
            "fastci+restore": (self.fastci_restored, False),
        }[name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each way (median taken)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    args = parser.parse_args()
    uv = shutil.which("uv")
    fastci = shutil.which("fastci")
    if uv is None or fastci is None:
        sys.exit("uv and fastci must be on PATH: pip install -e '.[dev]'")
    bench = Bench(sys.executable, uv, [fastci])
    scenarios = [s for s in args.scenarios.split(",") if s]
    print(f"preparing in {WORK} (pinning the set, warming caches, building the wheelhouse)")
    bench.prepare()
    packages = sum(1 for line in bench.requirements.read_text().splitlines() if "==" in line)
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    for round_number in range(1, args.runs + 1):
        for name in scenarios:
            measure, with_pip = bench.scenario(name)
            venv = bench.venv(with_pip)
            times[name].append(measure(venv))
            shutil.rmtree(venv, ignore_errors=True)
        line = ", ".join(f"{n} {times[n][-1]:.2f}s" for n in scenarios)
        print(f"round {round_number}/{args.runs}: {line}", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    (WORK / "results.json").write_text(
        json.dumps({"packages": packages, "runs": times, "medians": medians}, indent=2) + "\n"
    )
    print(f"\n{packages} packages, median of {args.runs} runs each, fresh virtualenv per run\n")
    print("| way | median | runs | fastci is faster by |")
    print("|---|---:|---|---:|")
    base = medians.get("fastci")
    for name in scenarios:
        runs = " ".join(f"{t:.2f}" for t in times[name])
        ratio = f"{medians[name] / base:.2f}x" if base else "-"
        print(f"| {name} | {medians[name]:.2f}s | {runs} | {ratio} |")
    print()
    for line in target_lines(medians):
        print(line)
    return 0


def target_lines(medians: dict[str, float]) -> list[str]:
    """The issue's two targets, and the same comparison with the cache restore counted."""
    checks = [
        ("pip-warm", "fastci", ">=", 5.0, "warm-cache pip / fastci"),
        ("fastci", "uv-warm", "<=", 1.5, "fastci / warm-cache uv"),
        ("fastci-warm-uv", "uv-warm", "<=", 1.5, "fastci (uv cache warm) / warm-cache uv"),
        ("fastci+restore", "uv-warm+restore", "<=", 1.5, "with the restore: fastci / uv"),
    ]
    lines = []
    for top, bottom, sense, target, label in checks:
        if top in medians and bottom in medians:
            ratio = medians[top] / medians[bottom]
            met = ratio >= target if sense == ">=" else ratio <= target
            lines.append(
                f"- {label}: {ratio:.2f}x (target {sense} {target}x: {'met' if met else 'NOT met'})"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
