"""The small projects of the differential suite: one per way fastci could disagree with pytest."""

from __future__ import annotations

from collections.abc import Mapping

FILTERWARNINGS_ERROR = """
[tool.pytest.ini_options]
filterwarnings = ["error"]
"""

TEARDOWN_FIXTURES = {
    "tests/conftest.py": """
        import pytest

        @pytest.fixture
        def breaks_on_teardown():
            yield
            raise RuntimeError("function teardown")

        @pytest.fixture(scope="module")
        def module_breaks():
            yield
            raise RuntimeError("module teardown")

        @pytest.fixture
        def breaks_on_setup():
            raise RuntimeError("setup")
        """,
    "tests/test_function.py": """
        def test_passes(breaks_on_teardown):
            pass

        def test_fails(breaks_on_teardown):
            assert False
        """,
    "tests/test_module.py": """
        def test_first(module_breaks):
            pass

        def test_last(module_breaks):
            pass
        """,
    "tests/test_setup.py": """
        def test_setup_error(breaks_on_setup):
            pass

        def test_fine():
            pass
        """,
}

# pytest gives a session fixture's teardown error to the session's last test: in one file run
# by one worker, that is the same test (docs/running.md says what happens across workers).
SESSION_TEARDOWN = {
    "tests/conftest.py": """
        import pytest

        @pytest.fixture(scope="session")
        def session_breaks():
            yield
            raise RuntimeError("session teardown")
        """,
    "tests/test_session.py": """
        def test_first(session_breaks):
            pass

        def test_last():
            pass
        """,
}

# A session fixture used in three files: every worker and shard that runs one of them sets it
# up and tears it down; pytest reports its teardown error once, on the session's last test.
SESSION_TEARDOWN_SPREAD = {
    "tests/conftest.py": SESSION_TEARDOWN["tests/conftest.py"],
    "tests/test_a.py": "def test_a(session_breaks):\n    pass\n",
    "tests/test_b.py": "def test_b(session_breaks):\n    pass\n",
    "tests/test_c.py": "def test_c(session_breaks):\n    pass\n",
}

# The same text from a function fixture's teardown after every test: an error each, not one.
FUNCTION_TEARDOWN_EVERYWHERE = {
    "tests/conftest.py": """
        import pytest

        @pytest.fixture(autouse=True)
        def breaks_after_each():
            yield
            raise RuntimeError("function teardown")
        """,
    "tests/test_a.py": "def test_a():\n    pass\n",
    "tests/test_b.py": "def test_b():\n    pass\n",
    "tests/test_c.py": "def test_c():\n    pass\n",
}

XFAILS = {
    "tests/test_xfail.py": """
        import pytest

        @pytest.mark.xfail(reason="known")
        def test_xfailed():
            assert False

        @pytest.mark.xfail(reason="lucky")
        def test_xpassed():
            pass

        @pytest.mark.xfail(reason="strict", strict=True)
        def test_xpassed_strict():
            pass

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass

        def test_imperative_xfail():
            pytest.xfail("imperative")
        """,
}

SYNTAX_ERROR = {
    "tests/test_ok.py": "def test_ok():\n    pass\n",
    "tests/test_broken.py": "def test_broken(:\n    pass\n",
}

WARNING_AT_IMPORT = {
    "pyproject.toml": FILTERWARNINGS_ERROR,
    "tests/test_ok.py": "def test_ok():\n    pass\n",
    "tests/test_warns.py": """
        import warnings
        warnings.warn("deprecated at import", DeprecationWarning)

        def test_never():
            pass
        """,
}

RAISING_COLLECTION_HOOK = {
    "tests/conftest.py": """
        def pytest_collection_modifyitems(items):
            raise ValueError("hook broke")
        """,
    "tests/test_a.py": "def test_a():\n    pass\n",
    "tests/test_b.py": "def test_b():\n    pass\n",
}

# Raises only once there are items: fastci's discovery (no items) passes, a worker meets it.
HOOK_RAISING_ON_ITEMS = {
    "tests/conftest.py": """
        def pytest_collection_modifyitems(items):
            if items:
                raise ValueError("hook broke")
        """,
    "tests/test_a.py": "def test_a():\n    pass\n",
    "tests/test_b.py": "def test_b():\n    pass\n",
}

DUPLICATE_BASENAMES = {
    "tests/a/test_dup.py": "def test_in_a():\n    pass\n",
    "tests/b/test_dup.py": "def test_in_b():\n    pass\n",
    "tests/test_other.py": "def test_other():\n    pass\n",
}

DUPLICATE_BASENAMES_IMPORTLIB = {
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--import-mode=importlib"\n',
    **DUPLICATE_BASENAMES,
}

SUBTESTS = {
    "tests/test_subtests.py": """
        import unittest

        def test_fixture_kind(subtests):
            for n in range(3):
                with subtests.test(msg="n", n=n):
                    assert n != 1

        def test_all_pass(subtests):
            for n in range(2):
                with subtests.test(n=n):
                    pass

        class TestUnittestKind(unittest.TestCase):
            def test_sub(self):
                for n in range(3):
                    with self.subTest(n=n):
                        self.assertNotEqual(n, 2)
        """,
}

MIXED_KINDS = {
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--doctest-modules"\n',
    "pkg/__init__.py": "",
    "pkg/maths.py": '''
        def double(n):
            """
            >>> double(2)
            4
            >>> double(3)
            7
            """
            return n * 2
        ''',
    "tests/test_module_skip.py": """
        import pytest
        pytest.skip("whole module", allow_module_level=True)

        def test_never():
            pass
        """,
    "tests/test_unittest.py": """
        import unittest

        class TestPlain(unittest.TestCase):
            def test_ok(self):
                pass

            def test_fails(self):
                self.assertEqual(1, 2)

            @unittest.skip("later")
            def test_skipped(self):
                pass
        """,
    "tests/test_ids.py": """
        import pytest

        @pytest.mark.parametrize("value", ["a::b", "ü-ñ", "[x]", "a b"])
        def test_ids(value):
            assert value != "[x]"

        class TestNested:
            @pytest.mark.parametrize("n", [1, 2], ids=["one::two", "δ"])
            def test_in_class(self, n):
                pass
        """,
}

# Deselected by a marker from addopts, as click's suite does: shards must count them once.
DESELECTED = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        markers = ["slow: a slow test"]
        addopts = "-m 'not slow'"
        """,
    "tests/test_a.py": """
        import pytest

        @pytest.mark.slow
        def test_slow_a():
            pass

        def test_quick_a():
            pass
        """,
    "tests/test_b.py": """
        import pytest

        @pytest.mark.slow
        @pytest.mark.parametrize("n", range(3))
        def test_slow_b(n):
            pass

        def test_quick_b():
            pass
        """,
    "tests/test_c.py": "def test_quick_c():\n    pass\n",
}

# name -> (files, extra pytest arguments)
CASES: Mapping[str, tuple[Mapping[str, str], tuple[str, ...]]] = {
    "teardown_and_setup_errors": (TEARDOWN_FIXTURES, ()),
    "session_teardown_error": (SESSION_TEARDOWN, ()),
    "session_teardown_error_spread": (SESSION_TEARDOWN_SPREAD, ()),
    "function_teardown_error_everywhere": (FUNCTION_TEARDOWN_EVERYWHERE, ()),
    "xfail_xpass_skip": (XFAILS, ()),
    "syntax_error": (SYNTAX_ERROR, ()),
    "syntax_error_continue": (SYNTAX_ERROR, ("--continue-on-collection-errors",)),
    "warning_at_import": (WARNING_AT_IMPORT, ()),
    "warning_at_import_continue": (WARNING_AT_IMPORT, ("--continue-on-collection-errors",)),
    "raising_collection_hook": (RAISING_COLLECTION_HOOK, ()),
    "hook_raising_on_items": (HOOK_RAISING_ON_ITEMS, ()),
    "duplicate_basenames": (DUPLICATE_BASENAMES, ()),
    "duplicate_basenames_importlib": (DUPLICATE_BASENAMES_IMPORTLIB, ()),
    "subtests": (SUBTESTS, ()),
    "deselected_by_marker": (DESELECTED, ()),
    "deselected_by_keyword": (DESELECTED, ("-k", "not quick_b")),
    "subtests_verbose": (SUBTESTS, ("-v",)),
    "doctest_unittest_skip_ids": (MIXED_KINDS, ()),
}
