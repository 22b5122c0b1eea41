"""The catalogue: books and a word index for searching them."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict

WORD = re.compile(r"[a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class Book:
    isbn: str
    title: str
    author: str
    price_cents: int
    stock: int = 0


class Catalogue:
    def __init__(self) -> None:
        self._books: dict[str, Book] = {}
        self._index: dict[str, set[str]] = defaultdict(set)

    def add(self, book: Book) -> None:
        if book.isbn in self._books:
            raise ValueError(f"duplicate isbn {book.isbn}")
        self._books[book.isbn] = book
        for word in WORD.findall(f"{book.title} {book.author}".lower()):
            self._index[word].add(book.isbn)

    def get(self, isbn: str) -> Book:
        return self._books[isbn]

    def search(self, query: str) -> list[Book]:
        words = WORD.findall(query.lower())
        if not words:
            return []
        hits = set.intersection(*(self._index.get(w, set()) for w in words))
        return sorted((self._books[i] for i in hits), key=lambda b: (b.title, b.isbn))

    def __len__(self) -> int:
        return len(self._books)
