import pytest
from bookshop.catalogue import Catalogue
from bookshop.orders import OrderBook, OutOfStock


def test_place_reserves_stock(small_catalogue: Catalogue) -> None:
    book = OrderBook(small_catalogue)
    book.place({"1": 2})
    with pytest.raises(OutOfStock):
        book.place({"1": 2})


def test_out_of_stock_reserves_nothing(small_catalogue: Catalogue) -> None:
    book = OrderBook(small_catalogue)
    with pytest.raises(OutOfStock):
        book.place({"3": 1, "2": 1})
    assert book.reserved == {}


def test_total_includes_bulk_discount_and_vat(small_catalogue: Catalogue) -> None:
    book = OrderBook(small_catalogue)
    order = book.place({"3": 10})
    assert book.total_cents(order) == 23594  # 10 x 2450 less 10 %, plus 7 % VAT


def test_cancel_twice_releases_once(small_catalogue: Catalogue) -> None:
    book = OrderBook(small_catalogue)
    order = book.place({"1": 3})
    book.cancel(order)
    book.cancel(order)
    assert book.reserved == {"1": 0}
    book.place({"1": 3})


@pytest.mark.slow
def test_many_orders_against_a_big_catalogue(big_catalogue: Catalogue) -> None:
    book = OrderBook(big_catalogue)
    placed = []
    for n in range(0, 20_000, 3):
        isbn = f"{n:013d}"
        if big_catalogue.get(isbn).stock:
            placed.append(book.place({isbn: 1}))
    assert all(book.total_cents(o) > 0 for o in placed)
    for order in placed:
        book.cancel(order)
    assert not any(book.reserved.values())
