"""The sources of the soundness review's small projects (tests/affected/test_review_misses.py)."""

SHADOWED = "from pkg.m import helper\n\n\ndef test_a():\n    assert helper() == 1\n"
OVERRIDDEN = """\
class TestBase:
    def value(self):
        return 1

    def test_v(self):
        assert self.value() == 1


class TestSub(TestBase):
    def other(self):
        return 0
"""
UNITTEST = """\
import unittest


class TestU(unittest.TestCase):
    def test_x(self):
        self.assertEqual(1, 1)
"""
POOL = """\
import multiprocessing

from pkg.m import work


def test_pool():
    with multiprocessing.get_context({!r}).Pool(1) as pool:
        assert pool.map(work, [1]) == [2]
"""
WORK = "def work(x):\n    return x + {}\n"
DISCOVER = """\
import pkgutil


def names():
    return [m.name for m in pkgutil.iter_modules(__path__)]
"""

STORE = """\
class Store:
    def __init__(self):
        self.items = []

    def add(self, x):
        self.items.append(x){}

    def count(self):
        return len(self.items)


STORE = Store()
"""
LAZY = """\
class Cfg:
    _v = None

    def get(self):
        if self._v is None:
            self._v = compute()
        return self._v


def compute():
    return {}


CFG = Cfg()
"""
CACHED = """\
import functools


class C:
    @functools.cached_property
    def v(self):
        return compute()


def compute():
    return {}


C1 = C()
"""
CLOSURE = """\
def make():
    n = 0

    def inc():
        nonlocal n
        n += 1
        return n

    return inc


counter = make()


def bump():
    counter(){}
"""
BAG = "class Bag:\n    items = []\n\n    def add(self, x):\n        self.items.append({})\n"
CODE = "from pkg.m import work\n\n\ndef test_c():\n    assert 1 in work.__code__.co_consts\n"
NAMES = "from pkg.plugins import names\n\n\ndef test_d():\n    assert names() == ['a']\n"
LISTED = "import os\n\n\ndef test_l():\n    assert len(os.listdir('data')) == 1\n"
MEMO = """\
def act(n=1, memo={{}}):
    if n not in memo:
        memo[n] = compute(n)
    return memo[n]


def compute(n):
    return n + {}
"""
CHECKS = """\
def check_one():
    return True


def test_all():
    assert all(f() for name, f in list(globals().items()) if name.startswith("check_"))
"""
FIXTURE = """\
import pytest

from pkg.m import add_to


@pytest.fixture(scope="module")
def items():
    return []


def test_a(items):
    add_to(items, 1)


def test_b(items):
    assert items == [1]
"""
ADD_TO = "def add_to(items, x):\n    items.append({})\n"
PLUGIN = """\
import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if {!r} in item.name:
            item.add_marker(pytest.mark.skip)
"""
ADDOPTS = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\naddopts = "-p tests.plug"\n'
NAMESPACE = "import types\n\nSTATE = types.SimpleNamespace(on=False)"
COUNTED = """\
class Counted:
    count = 0

    def __init__(self):
        type(self).count += {}
"""
BASE_TESTS = "class TestBase:\n    def test_x(self):\n        assert True\n"
CHILD_TESTS = (
    "from tests.test_base import TestBase\n\n\nclass TestChild(TestBase):\n    value = 1\n"
)
SESSION_ITEMS = "import pytest\n\n\n@pytest.fixture(scope='session')\ndef items():\n    return []\n"
READS_ITEMS = "def test_b(items):\n    assert items == []\n"
