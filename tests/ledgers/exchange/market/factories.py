"""Factories and CSV helpers for the market ledger tests."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import factory
from django.conf import settings
from factory.django import DjangoModelFactory

from ledgers.exchange.market.models import Asset, PriceHistory

PRICE_DIR = Path(settings.REPLAY_DATA_DIR) / "prices-coingecko-daily-csv"
ETH_CSV = PRICE_DIR / "eth-usd-max.csv"
BTC_CSV = PRICE_DIR / "btc-usd-max.csv"
BTC_LONG_CSV = PRICE_DIR / "btc-usd-max_2010-07-18_to_2026-01-31.csv"


def csv_prices(path: Path) -> dict[datetime, Decimal]:
    """``{snapped_at: price}`` straight from the CSV text (split on commas, Decimal of the text)."""
    prices = {}
    for line in path.read_text().splitlines()[1:]:
        if line.strip():
            snapped_at, price = line.split(",")[:2]
            day = datetime.strptime(snapped_at, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
            prices[day] = Decimal(price)
    return prices


def csv_price_on(path: Path, day: str) -> Decimal:
    """The price text of the row whose snapped_at starts with ``day`` (YYYY-MM-DD), as Decimal."""
    (line,) = [row for row in path.read_text().splitlines() if row.startswith(f"{day} ")]
    return Decimal(line.split(",")[1])


class AssetFactory(DjangoModelFactory):
    class Meta:
        model = Asset

    symbol = factory.Sequence(lambda n: f"TK{n}")
    name = factory.LazyAttribute(lambda o: f"Token {o.symbol}")
    chain = "ethereum"
    contract_address = factory.Sequence(lambda n: f"0x{0xabc000 + n:040x}")
    decimals = 18
    coingecko_id = ""


class PriceHistoryFactory(DjangoModelFactory):
    class Meta:
        model = PriceHistory

    asset = factory.SubFactory(AssetFactory)
    timestamp = datetime(2024, 3, 14, tzinfo=UTC)
    price_usd = Decimal("1.5")
