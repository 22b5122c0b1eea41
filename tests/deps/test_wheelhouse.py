"""fastci deps build/install/prune against the real package index, uv, pip and virtualenvs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastci.errors import ExitCode
from tests.helpers.cli import Result
from tests.helpers.deps import (
    UNREACHABLE_INDEX,
    RunFastci,
    imports,
    make_broken_sdist,
    make_project,
    make_venv,
    make_wheel,
    manifest,
    uv,
    wheelhouse,
    write,
)

PYTHON = sys.executable


def install_offline(fastci: RunFastci, root: Path, python: Path, *flags: str) -> Result:
    """``fastci deps install`` with the index pointing nowhere; it must succeed."""
    command: tuple[str | Path, ...] = ("deps", "install", "--root", root, "--python", python)
    command += flags
    result = fastci(*command, "--index-url", UNREACHABLE_INDEX)
    assert result.code == ExitCode.OK, result.err
    return result


def test_build_leaves_a_wheel_and_a_manifest_entry_per_pinned_package(built: Path) -> None:
    directory = wheelhouse(built)
    data = manifest(built)
    packages = data["packages"]
    assert sorted(p["name"] for p in packages) == ["iniconfig", "six"]
    assert {p["version"] for p in packages} == {"1.17.0", "2.1.0"}
    assert sorted(p.name for p in directory.glob("*.whl")) == sorted(
        [p["file"] for p in packages + data["build_packages"]]
    )
    assert directory.name == data["key"]
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".staging")]


def test_the_wheelhouse_is_named_by_the_current_key(fastci: RunFastci, built: Path) -> None:
    key = fastci("deps", "key", "--root", built, "--python", PYTHON).out.strip()
    assert wheelhouse(built).name == key


def test_a_second_build_finds_the_wheelhouse_complete(fastci: RunFastci, project: Path) -> None:
    result = fastci("deps", "build", "--root", project, "--python", PYTHON)
    assert result.code == ExitCode.OK
    assert "is complete: 3 wheels, all match the manifest" in result.out


def test_install_works_offline_with_the_index_unreachable(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    result = install_offline(fastci, project, python)
    assert "installed 2 packages" in result.out
    assert "(offline)" in result.out
    assert imports(python, "six", "iniconfig")
    assert not imports(python, "tinyapp")


def test_install_with_pip_instead_of_uv_works_offline_too(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv", with_pip=True)
    install_offline(fastci, project, python, "--installer", "pip")
    assert imports(python, "six", "iniconfig")


def test_install_project_adds_the_project_itself_editable_and_offline(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    install_offline(fastci, project, python, "--project")
    assert imports(python, "six", "tinyapp")


def test_the_wheelhouse_still_installs_after_moving_it(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "restored" / "wheels"
    shutil.move(str(project / ".cache" / "wheels"), str(moved))
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", project, "--python", python, "--wheelhouse", moved)
    assert result.code == ExitCode.OK, result.err
    assert imports(python, "six", "iniconfig")


def test_a_missing_wheel_is_an_error_naming_the_package(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    next(wheelhouse(project).glob("six-*.whl")).unlink()
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", project, "--python", python)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert result.err.startswith("fastci: error: missing wheel for six==1.17.0 in ")
    assert "--allow-index" in result.err
    assert not imports(python, "iniconfig")  # nothing half-installed


def test_a_corrupt_wheel_fails_the_manifest_check(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    wheel = next(wheelhouse(project).glob("iniconfig-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0xFF  # same size, other content: only the hash can tell
    wheel.write_bytes(bytes(data))
    result = fastci("deps", "install", "--root", project, "--python", make_venv(tmp_path / "v"))
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "does not match its manifest hash for iniconfig==2.1.0" in result.err


def test_allow_index_fetches_what_the_wheelhouse_lacks(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    next(wheelhouse(project).glob("six-*.whl")).unlink()
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", project, "--python", python, "--allow-index")
    assert result.code == ExitCode.OK, result.err
    assert "from the index, missing or unusable in the wheelhouse: six==1.17.0" in result.out
    assert imports(python, "six", "iniconfig")


def test_a_half_built_wheelhouse_never_passes_for_complete(
    fastci: RunFastci, project: Path, tmp_path: Path
) -> None:
    directory = wheelhouse(project)
    (directory / "manifest.json").unlink()  # as if the build died before its last step
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", project, "--python", python)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "no complete wheelhouse for this key" in result.err
    rebuilt = fastci("deps", "build", "--root", project, "--python", PYTHON)
    assert rebuilt.code == ExitCode.OK, rebuilt.err
    assert (directory / "manifest.json").is_file()


def test_a_changed_set_reuses_the_wheels_it_already_has(fastci: RunFastci, project: Path) -> None:
    old = wheelhouse(project).name
    with (project / "requirements.txt").open("a") as f:
        f.write("pluggy==1.5.0\n")
    result = fastci("deps", "build", "--root", project, "--python", PYTHON)
    assert result.code == ExitCode.OK, result.err
    assert "4 wheels (3 reused, 1 downloaded or built)" in result.out
    assert f"new key; changed since {old}: requirements:requirements.txt (changed, +1 -0)" in (
        result.out
    )
    diff = fastci("deps", "key", "--root", project, "--python", PYTHON, "--diff", old)
    assert "changed: requirements:requirements.txt\n    + pluggy==1.5.0" in diff.out


def test_prune_removes_the_wheelhouses_no_current_key_uses(
    fastci: RunFastci, project: Path
) -> None:
    old = wheelhouse(project)
    write(project / "requirements.txt", "six==1.17.0\n")
    assert fastci("deps", "build", "--root", project, "--python", PYTHON).code == ExitCode.OK
    dry = fastci("deps", "prune", "--root", project, "--python", PYTHON, "--dry-run")
    assert "would remove 1 wheelhouse(s)" in dry.out
    assert old.is_dir()
    result = fastci("deps", "prune", "--root", project, "--python", PYTHON)
    assert result.code == ExitCode.OK
    assert not old.exists()
    assert [d.name for d in (project / ".cache" / "wheels").iterdir()] == [wheelhouse(project).name]


def test_a_failing_build_names_the_package_and_shows_its_last_lines(
    fastci: RunFastci, tmp_path: Path
) -> None:
    sdist = make_broken_sdist(tmp_path)
    root = make_project(tmp_path / "app", f"broken @ {sdist.as_uri()}\n")
    result = fastci("deps", "build", "--root", root, "--python", PYTHON)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    *details, message = result.err.splitlines()
    assert message.startswith("fastci: error: could not build a wheel for broken ")
    assert "the C compiler exploded" in "\n".join(details)
    assert not (root / ".cache" / "wheels").exists() or not any(
        d.name.startswith("fastci-deps") for d in (root / ".cache" / "wheels").iterdir()
    )


def test_an_unreachable_index_is_one_clear_error(
    fastci: RunFastci, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # the same error, without 10 s of retries
    root = make_project(tmp_path / "app", "attrs==24.2.0\n")
    result = fastci(
        "deps", "build", "--root", root, "--python", PYTHON, "--index-url", UNREACHABLE_INDEX
    )
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert result.err.splitlines()[-1].startswith("fastci: error: the package index is unreachable")


def test_install_without_a_wheelhouse_says_to_build_first(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app")
    result = fastci("deps", "install", "--root", root, "--python", make_venv(tmp_path / "v"))
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "run 'fastci deps build' first" in result.err


def test_allow_index_without_a_wheelhouse_installs_from_the_index(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app", "six==1.17.0\n")
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", root, "--python", python, "--allow-index")
    assert result.code == ExitCode.OK, result.err
    assert "no wheelhouse for this key: installed the set from the index" in result.out
    assert imports(python, "six")


def test_a_pip_index_setting_reaches_uv_which_does_not_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastci.deps.backend import Backend

    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    for variable in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL"):
        monkeypatch.delenv(variable, raising=False)
    uv = Backend("uv", "uv")
    assert uv.index_arguments(None) == [
        "--index-url", "https://pypi.example/simple",
        "--extra-index-url", "https://extra.example/simple",
    ]  # fmt: skip
    assert uv.index_arguments("https://mine/simple") == ["--index-url", "https://mine/simple"]
    assert Backend("pip", None).index_arguments(None) == []  # pip reads them itself
    monkeypatch.setenv("UV_DEFAULT_INDEX", "https://uv.example/simple")
    assert uv.index_arguments(None) == []  # uv's own setting wins


def test_index_options_in_a_requirement_file_steer_the_download_too(
    fastci: RunFastci, tmp_path: Path
) -> None:
    make_wheel(tmp_path / "app" / "vendor", "tinylocal", "1.0")
    root = make_project(tmp_path / "app", "--no-index\n--find-links ./vendor\ntinylocal==1.0\n")
    built = fastci("deps", "build", "--root", root, "--python", PYTHON, "--requirements", "req*")
    assert built.code == ExitCode.OK, built.err
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", root, "--python", python, "--requirements", "req*")
    assert result.code == ExitCode.OK, result.err
    assert imports(python, "tinylocal")


def locked_project(root: Path) -> Path:
    """A project asking for any iniconfig; its lock file is what pins 2.0.0."""
    write(
        root / "pyproject.toml",
        """
        [project]
        name = "locked"
        version = "1"
        requires-python = ">=3.10"
        dependencies = ["iniconfig==2.0.0"]
        """,
    )
    return root


def built_versions(fastci: RunFastci, root: Path, *flags: str) -> dict[str, str]:
    result = fastci("deps", "build", "--root", root, "--python", PYTHON, *flags)
    assert result.code == ExitCode.OK, result.err
    return {p["name"]: p["version"] for p in manifest(root)["packages"]}


@pytest.mark.parametrize("installer", ["auto", "pip"])
def test_the_wheelhouse_holds_the_versions_uv_lock_pins(
    fastci: RunFastci, tmp_path: Path, installer: str
) -> None:
    root = locked_project(tmp_path / "app")
    subprocess.run([uv(), "lock", "--quiet"], cwd=root, check=True)
    edit = (root / "pyproject.toml").read_text().replace("iniconfig==2.0.0", "iniconfig")
    (root / "pyproject.toml").write_text(edit)  # unpinned now; the lock still says 2.0.0
    assert built_versions(fastci, root, "--installer", installer) == {"iniconfig": "2.0.0"}


def test_the_wheelhouse_holds_the_versions_pylock_pins(fastci: RunFastci, tmp_path: Path) -> None:
    root = locked_project(tmp_path / "app")
    edit = (root / "pyproject.toml").read_text().replace("iniconfig==2.0.0", "iniconfig")
    (root / "pyproject.toml").write_text(edit)
    write(
        root / "pylock.toml",
        """
        lock-version = "1.0"
        created-by = "hand"
        [[packages]]
        name = "iniconfig"
        version = "2.0.0"
        """,
    )
    assert built_versions(fastci, root) == {"iniconfig": "2.0.0"}


def test_two_builds_of_one_key_at_once_leave_one_complete_wheelhouse(tmp_path: Path) -> None:
    root = make_project(tmp_path / "app", "six==1.17.0\n")
    command = [sys.executable, "-m", "fastci", "deps", "build", "--python", PYTHON]
    builds = [subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL) for _ in range(2)]
    assert [b.wait() for b in builds] == [ExitCode.OK, ExitCode.OK]
    entries = sorted(p.name for p in (root / ".cache" / "wheels").iterdir())
    assert entries == [wheelhouse(root).name]
    assert {p["name"] for p in manifest(root)["packages"]} == {"six"}


def test_pip_alone_resolves_builds_and_installs_the_same_set(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app")
    built = fastci("deps", "build", "--root", root, "--python", PYTHON, "--installer", "pip")
    assert built.code == ExitCode.OK, built.err
    data = manifest(root)
    assert data["backend"] == "pip"
    assert {p["name"]: p["version"] for p in data["packages"]} == {
        "six": "1.17.0",
        "iniconfig": "2.1.0",
    }
    python = make_venv(tmp_path / "venv", with_pip=True)
    result = fastci("deps", "install", "--root", root, "--python", python, "--installer", "pip")
    assert result.code == ExitCode.OK, result.err
    assert imports(python, "six", "iniconfig")


def test_install_project_without_build_system_uses_setuptools_from_the_wheelhouse(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = make_project(tmp_path / "app", "six==1.17.0\n")
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text.split("[build-system]")[0])
    assert fastci("deps", "build", "--root", root, "--python", PYTHON).code == ExitCode.OK
    assert {p["name"] for p in manifest(root)["build_packages"]} == {"setuptools"}
    python = make_venv(tmp_path / "venv")
    install_offline(fastci, root, python, "--project")
    assert imports(python, "six", "tinyapp")


def test_install_project_in_an_application_without_packaging_installs_the_dependencies(
    fastci: RunFastci, tmp_path: Path
) -> None:
    root = tmp_path / "service"
    write(root / "requirements.txt", "six==1.17.0\n")
    assert fastci("deps", "build", "--root", root, "--python", PYTHON).code == ExitCode.OK
    python = make_venv(tmp_path / "venv")
    result = fastci("deps", "install", "--root", root, "--python", python, "--project")
    assert result.code == ExitCode.OK, result.err
    assert result.out.startswith("no installable project here")
    assert imports(python, "six")


def test_hashes_in_the_requirement_files_are_checked_on_download(
    fastci: RunFastci, built: Path, tmp_path: Path
) -> None:
    (six,) = [p for p in manifest(built)["packages"] if p["name"] == "six"]
    good = make_project(tmp_path / "good", f"six==1.17.0 --hash=sha256:{six['sha256']}\n")
    result = fastci("deps", "build", "--root", good, "--python", PYTHON)
    assert result.code == ExitCode.OK, result.err
    bad = make_project(tmp_path / "bad", f"six==1.17.0 --hash=sha256:{'0' * 64}\n")
    result = fastci("deps", "build", "--root", bad, "--python", PYTHON)
    assert result.code == ExitCode.DEPENDENCIES_FAILED
    assert "six" in result.err
    assert result.err.splitlines()[-1].startswith(
        "fastci: error: a download does not match the --hash your requirement files give it"
    )
