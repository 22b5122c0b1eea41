import pytest
from bookshop.catalogue import Book, Catalogue


def test_search_finds_by_title_and_author(small_catalogue: Catalogue) -> None:
    assert [b.isbn for b in small_catalogue.search("glass")] == ["3", "2"]
    assert [b.isbn for b in small_catalogue.search("silent stone")] == ["1"]


def test_search_with_no_words_finds_nothing(small_catalogue: Catalogue) -> None:
    assert small_catalogue.search("  !! ") == []


def test_duplicate_isbn_is_rejected(small_catalogue: Catalogue) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        small_catalogue.add(Book("1", "Again", "Someone", 100))


class TestBigCatalogue:
    def test_size(self, big_catalogue: Catalogue) -> None:
        assert len(big_catalogue) == 20_000

    @pytest.mark.parametrize("word", ["river", "stone", "night", "garden", "winter"])
    def test_every_hit_matches(self, big_catalogue: Catalogue, word: str) -> None:
        hits = big_catalogue.search(word)
        assert hits
        assert all(word in f"{b.title} {b.author}".lower() for b in hits)

    @pytest.mark.slow
    def test_search_results_are_sorted(self, big_catalogue: Catalogue) -> None:
        for first in ["river", "glass", "empire"]:
            for second in ["stone", "night", "lantern"]:
                hits = big_catalogue.search(f"{first} {second}")
                assert hits == sorted(hits, key=lambda b: (b.title, b.isbn))
