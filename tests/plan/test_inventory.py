"""Inventory: the user's own pytest configuration decides the tests, and discovery imports none."""

from __future__ import annotations

import pytest

from fastci.plan.inventory import collect_items, discover_files
from fastci.plugin.launch import PytestError
from tests.helpers.projects import SAMPLE_TEST_COUNT, Project, write_sample_suite


def test_discovery_honours_testpaths_python_files_and_norecursedirs(project: Project) -> None:
    project.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        testpaths = ["checks"]
        python_files = ["check_*.py"]
        norecursedirs = ["fixtures"]
        """,
    )
    project.write("checks/check_one.py", "def test_a(): pass\n")
    project.write("checks/deep/check_two.py", "def test_b(): pass\n")
    project.write("checks/test_ignored_name.py", "def test_c(): pass\n")
    project.write("checks/fixtures/check_data.py", "def test_d(): pass\n")
    project.write("elsewhere/check_outside.py", "def test_e(): pass\n")
    inventory = discover_files(project.root)
    assert [f.path for f in inventory.files] == ["checks/check_one.py", "checks/deep/check_two.py"]
    assert inventory.items is None


def test_discovery_imports_no_test_module(project: Project) -> None:
    marker = project.root / "imported.txt"
    for name in ("test_a", "test_b"):
        project.write(
            f"tests/{name}.py",
            f"""
            open({str(marker)!r}, "a").write("{name}\\n")
            def test_it(): pass
            """,
        )
    inventory = discover_files(project.root)
    assert len(inventory.files) == 2
    assert not marker.exists()


def test_discovery_sees_files_a_p_plugin_collects(project: Project) -> None:
    project.write(
        "yamlplugin.py",
        """
        import pytest

        class YamlFile(pytest.File):
            def collect(self):
                yield YamlItem.from_parent(self, name="case")

        class YamlItem(pytest.Item):
            def runtest(self): pass

        def pytest_collect_file(parent, file_path):
            if file_path.suffix == ".yaml":
                return YamlFile.from_parent(parent, path=file_path)
        """,
    )
    project.write("tests/test_py.py", "def test_a(): pass\n")
    project.write("tests/cases.yaml", "a: 1\n")
    inventory = discover_files(project.root, ["-p", "yamlplugin"])
    by_path = {f.path: f.collector for f in inventory.files}
    assert by_path == {"tests/cases.yaml": "YamlFile", "tests/test_py.py": "Module"}


def test_collection_lists_every_test_with_its_class_markers_and_group(project: Project) -> None:
    write_sample_suite(project)
    inventory = collect_items(project.root, [], ["fastci_group"])
    assert inventory.items is not None
    assert len(inventory.items) == SAMPLE_TEST_COUNT
    by_id = {i.id: i for i in inventory.items}
    assert by_id["tests/test_beta.py::TestOne::test_a"].cls == "tests/test_beta.py::TestOne"
    assert by_id["tests/sub/test_gamma.py::test_plain"].cls is None
    assert "slow" in by_id["tests/sub/test_gamma.py::test_marked"].markers
    assert by_id["tests/sub/test_gamma.py::test_grouped_there"].group == "fastci_group:db"
    assert by_id["tests/test_beta.py::test_grouped_here"].group == "fastci_group:db"


def test_a_broken_conftest_is_reported_as_pytest_reports_it(project: Project) -> None:
    project.write("tests/conftest.py", "import no_such_module_here\n")
    project.write("tests/test_a.py", "def test_a(): pass\n")
    with pytest.raises(PytestError) as raised:
        discover_files(project.root)
    assert raised.value.exit_code == 4  # pytest's own code for a conftest that fails to import
    assert raised.value.details is not None
    assert "no_such_module_here" in raised.value.details


def test_a_collection_error_keeps_pytests_exit_code(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(:\n")
    with pytest.raises(PytestError) as raised:
        collect_items(project.root)
    assert raised.value.exit_code == 2
    assert "SyntaxError" in (raised.value.details or "")


def test_inventory_command_lists_files_and_exits_5_when_there_are_none(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    listed = project.fastci("inventory")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == ["tests/test_a.py", "1 test files"]
    (project.root / "tests/test_a.py").unlink()
    empty = project.fastci("inventory")
    assert empty.returncode == 5


def test_only_positional_node_ids_call_for_a_full_collection() -> None:
    from fastci.plan.suite import names_tests

    assert names_tests(["tests/test_a.py::test_x"])
    assert names_tests(["-q", "tests/test_a.py::TestX::test_y[1]"])
    assert not names_tests(["--deselect", "tests/test_a.py::test_x", "tests"])
    assert not names_tests(["--deselect=tests/test_a.py::test_x"])
    assert not names_tests(["-k", "a::b", "tests/"])
