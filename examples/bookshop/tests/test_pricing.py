import pytest
from bookshop.pricing import bulk_price, discounted, with_vat


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        (1000, 0, 1000),
        (1000, 10, 900),
        (999, 50, 500),
        (1, 50, 0),
        (3, 50, 2),
        (1000, 100, 0),
    ],
)
def test_discounted(price: int, percent: int, expected: int) -> None:
    assert discounted(price, percent) == expected


@pytest.mark.parametrize("percent", [-1, 101])
def test_discount_out_of_range(percent: int) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        discounted(1000, percent)


def test_vat_rounds_half_even() -> None:
    assert with_vat(1000) == 1070
    assert with_vat(50) == 54  # 53.5 rounds to the even 54


@pytest.mark.parametrize(("quantity", "expected"), [(1, 1000), (10, 9000), (50, 40000)])
def test_bulk_price(quantity: int, expected: int) -> None:
    assert bulk_price(1000, quantity) == expected


def test_pricing_is_consistent_over_many_prices() -> None:
    for price in range(0, 200_000, 7):
        assert discounted(price, 0) == price
        assert with_vat(price) >= price
