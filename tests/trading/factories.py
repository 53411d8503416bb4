"""Model factories and price helpers for the trading tests."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from ledgers.exchange.market.models import Asset, PriceHistory
from trading.models import Account, Strategy

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"trader{n}")


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"paper {n}")
    starting_cash_usd = Decimal("10000")
    cash_usd = Decimal("10000")
    slippage_bps = Decimal("0")
    fee_bps = Decimal("0")
    min_order_usd = Decimal("10")
    max_position_percent = Decimal("100")
    max_strategy_exposure_percent = Decimal("100")
    max_daily_loss_percent = Decimal("100")


class StrategyFactory(DjangoModelFactory):
    class Meta:
        model = Strategy

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"strategy {n}")
    kind = "follow_smart_money"


def set_price(symbol: str, price: str | Decimal, at: datetime = T0) -> PriceHistory:
    """Store a PriceHistory row for the seeded asset ``symbol`` (native coin first)."""
    asset = Asset.objects.filter(symbol=symbol).order_by("contract_address", "id").first()
    assert asset is not None, symbol
    row, _ = PriceHistory.objects.update_or_create(asset=asset, timestamp=at,
                                                   defaults={"price_usd": Decimal(price), "source": "test"})
    return row


def fixed_prices(prices: dict[str, Decimal | None]):
    """A price_source returning fixed prices (None = missing), for tests that skip the DB prices."""

    def source(symbol: str, when: datetime) -> Decimal | None:
        return prices.get(symbol)

    return source
