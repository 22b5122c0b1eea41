"""A small shop project with tests of different lengths, and helpers to run it in shards."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from tests.helpers.cli import fastci_code

PACKAGE = {
    "shop/__init__.py": "",
    "shop/prices.py": """
        def with_vat(cents, rate=20):
            if cents < 0:
                raise ValueError("negative price")
            return cents + cents * rate // 100


        def bulk(cents, count):
            if count >= 10:
                return cents * count * 9 // 10
            return cents * count


        def never_called():
            return "this line stays uncovered"
        """,
    "shop/stock.py": """
        class Stock:
            def __init__(self):
                self.items = {}

            def add(self, sku, count):
                self.items[sku] = self.items.get(sku, 0) + count

            def take(self, sku, count):
                if self.items.get(sku, 0) < count:
                    return False
                self.items[sku] -= count
                return True
        """,
    "shop/search.py": """
        def search(titles, word):
            word = word.lower()
            return sorted(t for t in titles if word in t.lower())
        """,
}

TESTS = {
    "tests/test_prices.py": """
        import time

        import pytest

        from shop.prices import bulk, with_vat


        def test_vat():
            assert with_vat(100) == 120


        def test_negative_price_is_refused():
            with pytest.raises(ValueError):
                with_vat(-1)


        @pytest.mark.parametrize("count", [1, 5, 10, 20])
        def test_bulk(count):
            time.sleep(0.05)
            assert bulk(100, count) <= 100 * count
        """,
    "tests/test_stock.py": """
        import time

        from shop.stock import Stock


        class TestStock:
            def test_add(self):
                stock = Stock()
                stock.add("a", 2)
                assert stock.items == {"a": 2}

            def test_take(self):
                time.sleep(0.3)
                stock = Stock()
                stock.add("a", 2)
                assert stock.take("a", 1)

            def test_take_too_many(self):
                assert not Stock().take("a", 1)
        """,
    "tests/test_search.py": """
        import time

        import pytest

        from shop.search import search

        TITLES = ["Winter Garden", "Stone River", "Night Garden"]


        @pytest.mark.parametrize("word", ["garden", "river", "stone", "night", "snow"])
        def test_search(word):
            time.sleep(0.08)
            assert all(word in t.lower() for t in search(TITLES, word))
        """,
    "tests/test_slow.py": """
        import time


        def test_a_slow_catalogue_import():
            time.sleep(0.7)
        """,
    "tests/test_misc.py": """
        import pytest


        def test_ok():
            assert True


        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass
        """,
}

BROKEN = {
    "tests/test_broken.py": """
        def test_refund_is_never_negative():
            print("refund computed as -5")
            refund = -5
            assert refund >= 0, "a refund went negative"
        """,
}

PYPROJECT = """
[project]
name = "shop"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["."]
addopts = "-p no:cacheprovider"

[tool.fastci]
jobs = 2
"""


def write_project(root: Path, broken: bool = False) -> Path:
    """A small shop project with tests of different lengths (and a failing one if broken)."""
    files = {**PACKAGE, **TESTS, **(BROKEN if broken else {})}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def run_shard(root: Path, results: Path, shard: str | None, *extra: str) -> int:
    """``fastci run`` of one shard (or the whole suite when shard is None) with coverage."""
    shard_args = ["--shard", shard] if shard else []
    return fastci_code(
        "run", "--root", root, "--results", results, *shard_args, "--cov=shop", *extra
    )


@dataclasses.dataclass(frozen=True)
class ShardedRun:
    """A project, and the bundles of its shards under ``results``."""

    root: Path
    results: Path
    shards: int
    exit_codes: tuple[int, ...]

    def bundle(self, index: int) -> Path:
        return self.results / f"fastci-shard-{index}-of-{self.shards}"
