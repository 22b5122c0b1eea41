"""pytest's stops while collecting, in a fastci run: its INTERNALERROR and its exit codes."""

from __future__ import annotations

from tests.helpers.projects import Project


def test_a_hook_raising_in_a_worker_is_pytests_internalerror_with_exit_3(
    project: Project,
) -> None:
    project.write(
        "tests/conftest.py",
        """
        def pytest_collection_modifyitems(items):
            if items:  # fastci's discovery has none, so only a worker meets it
                raise ValueError("hook broke")
        """,
    )
    project.write("tests/test_a.py", "def test_a(): pass\n")
    project.write("tests/test_b.py", "def test_b(): pass\n")
    proc = project.fastci("run", "-j", "2")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "INTERNALERROR> ValueError: hook broke" in proc.stdout
    assert "CRASHED" not in proc.stdout
