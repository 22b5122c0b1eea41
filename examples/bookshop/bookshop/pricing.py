"""Prices: discounts, VAT and rounding to whole cents."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

VAT_RATE = Decimal("0.07")


def discounted(price_cents: int, percent: int) -> int:
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    value = Decimal(price_cents) * (100 - percent) / 100
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def with_vat(price_cents: int) -> int:
    value = Decimal(price_cents) * (1 + VAT_RATE)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def bulk_price(price_cents: int, quantity: int) -> int:
    """Ten or more copies get 10 % off, fifty or more 20 %."""
    percent = 20 if quantity >= 50 else 10 if quantity >= 10 else 0
    return discounted(price_cents, percent) * quantity
