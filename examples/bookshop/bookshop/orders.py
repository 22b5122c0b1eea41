"""Orders: reserve stock, total an order, and cancel it."""

from __future__ import annotations

import dataclasses

from bookshop.catalogue import Catalogue
from bookshop.pricing import bulk_price, with_vat


class OutOfStock(Exception):
    pass


@dataclasses.dataclass
class Order:
    lines: dict[str, int] = dataclasses.field(default_factory=dict)
    cancelled: bool = False


class OrderBook:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.reserved: dict[str, int] = {}

    def place(self, lines: dict[str, int]) -> Order:
        for isbn, quantity in lines.items():
            available = self.catalogue.get(isbn).stock - self.reserved.get(isbn, 0)
            if quantity > available:
                raise OutOfStock(isbn)
        for isbn, quantity in lines.items():
            self.reserved[isbn] = self.reserved.get(isbn, 0) + quantity
        return Order(dict(lines))

    def total_cents(self, order: Order) -> int:
        net = sum(bulk_price(self.catalogue.get(i).price_cents, q) for i, q in order.lines.items())
        return with_vat(net)

    def cancel(self, order: Order) -> None:
        if order.cancelled:
            return
        for isbn, quantity in order.lines.items():
            self.reserved[isbn] -= quantity
        order.cancelled = True
