"""Column types shared by WhaleTrack's models: token amounts, raw base units, USD and percentages, at the
scales ``whales.money`` rounds to."""

from typing import Any

from django.db import models


def amount_field(**kwargs: Any) -> models.DecimalField:
    """A token amount in human units (value_raw / 10**decimals)."""
    return models.DecimalField(max_digits=78, decimal_places=30, **kwargs)


def raw_amount_field(**kwargs: Any) -> models.DecimalField:
    """A token amount in integer base units (wei, satoshi): NUMERIC(78, 0) holds any uint256."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)


def usd_field(**kwargs: Any) -> models.DecimalField:
    """A USD amount, 8 decimal places."""
    return models.DecimalField(max_digits=38, decimal_places=8, **kwargs)


def percent_field(**kwargs: Any) -> models.DecimalField:
    """A percentage, 4 decimal places."""
    return models.DecimalField(max_digits=24, decimal_places=4, **kwargs)
