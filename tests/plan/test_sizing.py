"""A first run's rough count of a file's tests, read from its syntax tree."""

from __future__ import annotations

from fastci.plan.sizing import UNREAD_CASES, counted_tests
from tests.helpers.projects import Project


def test_tests_are_counted_with_their_parametrize_cases_and_classes(project: Project) -> None:
    path = project.write(
        "test_count.py",
        """
        import pytest

        def helper(): pass

        @pytest.mark.parametrize("n", range(10))
        @pytest.mark.parametrize("m", [1, 2])
        def test_grid(n, m): pass

        @pytest.mark.parametrize("x", make_cases())
        def test_unread(x): pass

        class TestThings:
            def test_a(self): pass
            async def test_b(self): pass

        class Helper:
            def test_not_collected(self): pass
        """,
    )
    assert counted_tests(path) == 20 + UNREAD_CASES + 2


def test_a_file_that_does_not_parse_is_counted_by_its_size(project: Project) -> None:
    path = project.write("test_broken.py", "def test(:\n" + "#" * 1000)
    assert counted_tests(path) == 4
