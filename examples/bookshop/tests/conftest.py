import random

import pytest
from bookshop.catalogue import Book, Catalogue

WORDS = [
    "river",
    "stone",
    "night",
    "garden",
    "winter",
    "glass",
    "silent",
    "empire",
    "harbour",
    "lantern",
]


@pytest.fixture(scope="session")
def big_catalogue() -> Catalogue:
    rng = random.Random(7)
    catalogue = Catalogue()
    for n in range(20_000):
        title = " ".join(rng.sample(WORDS, 3))
        catalogue.add(Book(f"{n:013d}", title, f"Author {n % 500}", 500 + n % 3000, stock=n % 7))
    return catalogue


@pytest.fixture
def small_catalogue() -> Catalogue:
    catalogue = Catalogue()
    catalogue.add(Book("1", "The Silent River", "A. Stone", 1299, stock=3))
    catalogue.add(Book("2", "Winter Garden", "B. Glass", 899, stock=0))
    catalogue.add(Book("3", "Empire of Glass", "C. Night", 2450, stock=40))
    return catalogue
