"""Stock forecasting: where the demo's bug lives, a few calls below the view."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    available: int
    sold_last_30_days: int


CATALOGUE = {
    "espresso-beans": Item(available=40, sold_last_30_days=90),
    "grinder": Item(available=5, sold_last_30_days=12),
    "moka-pot": Item(available=8, sold_last_30_days=0),  # new product: never sold yet
}


def days_of_cover(item: Item) -> float:
    """How many days the stock lasts at the current rate of sales."""
    return round(item.available / _daily_sales(item), 1)


def _daily_sales(item: Item) -> float:
    return item.sold_last_30_days / 30  # 0 for a new product: days_of_cover divides by it
